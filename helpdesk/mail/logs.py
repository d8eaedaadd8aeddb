"""Queries and display helpers for the mail admin pages."""

from sqlalchemy import select

from helpdesk.mail.models import OUTBOX_STATUSES, InboundMail, OutboxMessage

STATUS_TABS = (
    ("", "All"),
    ("queued", "Queued"),
    ("failed", "Failed"),
    ("sent", "Sent"),
    ("devbox", "Dev mailbox"),
)
RAW_SHOWN = 200_000  # characters of a raw message shown on the page


def outbox_filter(value):
    return value if value in OUTBOX_STATUSES else ""


def outbox_query(status=""):
    """Newest first; one status or all."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    return query.where(OutboxMessage.status == status) if status else query


def inbound_query():
    return select(InboundMail).order_by(InboundMail.id.desc())


def display_headers(row):
    """The headers the message is sent with, as (name, value) pairs (built like the worker does)."""
    from helpdesk.mail.compose import build_email

    try:
        return [(k, str(v)) for k, v in build_email(row).items()]
    except (ValueError, TypeError, IndexError) as exc:
        return [("(cannot be built)", str(exc))]


def raw_text(entry):
    """The stored raw message as text for reading (undecodable bytes replaced)."""
    if not entry.raw:
        return None
    return entry.raw[:RAW_SHOWN].decode("utf-8", errors="replace")
