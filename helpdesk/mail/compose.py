"""Outgoing mail: addresses, signed reply tokens, thread ids, outbox rows and the messages built from them."""

import hashlib
import hmac
import re
import secrets
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app, render_template

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.models import OUTBOX_DEVBOX, OUTBOX_QUEUED, OutboxMessage

# Headers an outbox row may carry besides the ones built from its columns.
EXTRA_HEADERS = ("Reply-To", "In-Reply-To", "References", "X-Helpdesk-Ticket")
# Shown above the text of every mail one can answer; inbound replies are cut there.
REPLY_MARKER = "-- Reply above this line --"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_TOKEN = re.compile(
    r"^(?P<local>[^@+\s]+)\+t(?P<id>\d{1,12})\.(?P<sig>[0-9a-fA-F]{1,64})@(?P<domain>[^@\s]+)$",
    re.IGNORECASE,
)
_ROOT = re.compile(r"^<ticket-(?P<id>\d{1,12})\.(?P<sig>[0-9a-f]{12})@(?P<domain>[^>\s]+)>$")


def clean_header(text, limit=300):
    """One line of header text: CR, LF and every other control character become a space."""
    return " ".join(_CONTROL.sub(" ", str(text or "")).split())[:limit]


def _addr_spec(setting):
    return parseaddr(current_app.config[setting] or "")[1].strip().lower()


def from_address():
    return _addr_spec("MAIL_FROM")


def support_address():
    return _addr_spec("SUPPORT_ADDRESS")


def mail_domain():
    return support_address().rpartition("@")[2] or "localhost"


def is_own_address(addr):
    """Our From, our support address, or any signed reply address of ours."""
    addr = (addr or "").strip().lower()
    return addr in (from_address(), support_address()) or parse_reply_address(addr) is not None


def _sign(purpose, value, length=16):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:length]


def reply_address(ticket_id):
    """support+t<id>.<hmac>@domain: replies to it land on the ticket, and only on it."""
    local, _, domain = support_address().partition("@")
    return f"{local}+t{ticket_id}.{_sign('reply', ticket_id)}@{domain}"


def parse_reply_address(addr):
    """(ticket_id, signature_ok) for an address in our reply form, else None (constant-time check)."""
    match = _TOKEN.match((addr or "").strip())
    if not match:
        return None
    local, _, domain = support_address().partition("@")
    if match["local"].lower() != local or match["domain"].lower() != domain:
        return None
    ticket_id = int(match["id"])
    return ticket_id, hmac.compare_digest(match["sig"].lower(), _sign("reply", ticket_id))


def thread_root_id(ticket_id):
    """The stable Message-ID every mail about this ticket refers to, so clients thread them."""
    return f"<ticket-{ticket_id}.{_sign('thread', ticket_id, 12)}@{mail_domain()}>"


def ticket_from_root_id(msgid):
    """The ticket id of a genuine thread root id, else None."""
    match = _ROOT.match((msgid or "").strip())
    if not match:
        return None
    ticket_id = int(match["id"])
    return ticket_id if hmac.compare_digest(match["sig"], _sign("thread", ticket_id, 12)) else None


def new_message_id():
    return f"<{secrets.token_hex(16)}@{mail_domain()}>"


def ticket_headers(ticket_id):
    """Threading and reply headers for a mail about a ticket."""
    root = thread_root_id(ticket_id)
    return {
        "Reply-To": reply_address(ticket_id),
        "In-Reply-To": root,
        "References": root,
        "X-Helpdesk-Ticket": str(ticket_id),
    }


def queue(kind, *, to_addr, to_name=None, user_id=None, template, subject, ticket=None, **context):
    """Write one outbox row in the caller's transaction (only flushed) and return it.

    Guarantees: the Message-ID is fixed now; with MAIL_BACKEND "devbox" the row is kept for the
    development mailbox and never sent; otherwise the worker delivers it.
    """
    context.update(subject=subject, ticket=ticket, reply_marker=REPLY_MARKER if ticket else None)
    headers = ticket_headers(ticket.id) if ticket is not None else {}
    row = OutboxMessage(
        kind=kind,
        message_id=new_message_id(),
        to_addr=to_addr.strip().lower(),
        to_name=clean_header(to_name, 200) or None,
        user_id=user_id,
        subject=clean_header(subject, 300),
        body_text=render_template(f"mail/{template}.txt", **context),
        body_html=render_template(f"mail/{template}.html", **context),
        headers=headers,
        ticket_id=ticket.id if ticket is not None else None,
        status=OUTBOX_QUEUED,
        next_attempt_at=utcnow(),
    )
    if current_app.config["MAIL_BACKEND"] == "devbox":
        row.status = OUTBOX_DEVBOX
        row.sent_at = utcnow()
    db.session.add(row)
    db.session.flush()
    return row


def build_email(row):
    """The RFC 5322 message for an outbox row; header values are single lines, names encoded."""
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = Address(
        display_name=clean_header(current_app.config["MAIL_FROM_NAME"]), addr_spec=from_address()
    )
    msg["To"] = Address(display_name=clean_header(row.to_name), addr_spec=row.to_addr)
    msg["Subject"] = clean_header(row.subject)
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id
    for name in EXTRA_HEADERS:
        if (row.headers or {}).get(name):
            msg[name] = clean_header(row.headers[name], 2000)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    return msg
