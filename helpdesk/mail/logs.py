"""Queries and display helpers for the mail admin pages."""

from flask import current_app
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.mail.models import (
    INBOUND_IGNORED,
    INBOUND_RATE_LIMITED,
    INBOUND_REJECTED,
    INBOUND_UNVERIFIED,
    OUTBOX_STATUSES,
    InboundMail,
    OutboxMessage,
)

STATUS_TABS = (
    ("", "All"),
    ("queued", "Queued"),
    ("failed", "Failed"),
    ("sent", "Sent"),
    ("devbox", "Dev mailbox"),
    ("suppressed", "Not sent (limit)"),
)
OUTBOX_LABELS = {
    "queued": "Queued",
    "sent": "Sent",
    "failed": "Failed",
    "devbox": "In dev mailbox",
    "suppressed": "Not sent: automatic-mail limit",
}
INBOUND_TABS = (
    ("", "All"),
    (INBOUND_UNVERIFIED, "Unverified"),
    (INBOUND_RATE_LIMITED, "Rate limited"),
    (INBOUND_REJECTED, "Rejected"),
    (INBOUND_IGNORED, "Ignored (bounces, lists, auto-replies)"),
)
OUTCOME_LABELS = {
    "reply": "Reply",
    "new_ticket": "New ticket",
    "duplicate": "Duplicate",
    "ignored": "Ignored",
    "rejected": "Rejected",
    "unverified": "Unverified: held for review",
    "discarded": "Discarded",
    "rate_limited": "Rate limited",
    "refused": "Refused",
    "failed": "Failed",
}
RAW_SHOWN = 200_000  # characters of a raw message shown on the page


def outbox_filter(value):
    return value if value in OUTBOX_STATUSES else ""


def outbox_query(status=""):
    """Newest first; one status or all."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    return query.where(OutboxMessage.status == status) if status else query


def inbound_filter(value):
    return value if value in dict(INBOUND_TABS) else ""


def inbound_query(outcome=""):
    """Newest first; one outcome or all."""
    query = select(InboundMail).order_by(InboundMail.id.desc())
    return query.where(InboundMail.outcome == outcome) if outcome else query


def unverified_count_query():
    """How many messages wait for an admin's review, as a scalar SELECT (ix_inbound_mail_outcome_id)."""
    return (
        select(func.count(InboundMail.id)).where(InboundMail.outcome == INBOUND_UNVERIFIED).scalar_subquery()
    )


def unverified_count():
    """How many messages wait for an admin's review."""
    return db.session.scalar(select(unverified_count_query()))


def setup_warning():
    """What the mail settings make of inbound mail that an admin should know, or None."""
    cfg = current_app.config
    if cfg["MAIL_TRUSTED_AUTHSERV_ID"]:
        return None
    if cfg["MAIL_REQUIRE_AUTH"]:
        return (
            "MAIL_TRUSTED_AUTHSERV_ID is not set, so no sender can be verified: with MAIL_REQUIRE_AUTH "
            "on, every message is held here for review."
        )
    return (
        "MAIL_TRUSTED_AUTHSERV_ID is not set: senders are never verified, so mail from agents' "
        "addresses and replies without the sender's own reply address are held here."
    )


def display_headers(row):
    """The headers the message is sent with, as (name, value) pairs (built like the worker does)."""
    from helpdesk.mail.compose import build_email

    if row.body_text is None:  # stored, not composed yet: what is known now
        return [
            ("Message-ID", row.message_id),
            ("To", row.to_addr),
            ("Subject", row.subject),
            ("(the rest)", "written by the mail worker when it first sends the message"),
        ]
    try:
        return [(k, str(v)) for k, v in build_email(row).items()]
    except (ValueError, TypeError, IndexError) as exc:
        return [("(cannot be built)", str(exc))]


def raw_text(entry):
    """The stored raw message as text for reading (undecodable bytes replaced)."""
    if not entry.raw:
        return None
    return entry.raw[:RAW_SHOWN].decode("utf-8", errors="replace")
