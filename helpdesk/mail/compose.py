"""Outgoing mail: addresses, outbox rows (with the hourly limit on automatic mail) and the
messages built from them. Reply addresses and thread ids are signed in tokens.py."""

import logging
import re
import secrets
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app
from sqlalchemy import func, inspect, select

from helpdesk.branding.settings import desk_name, sender_name
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.models import OUTBOX_DEVBOX, OUTBOX_QUEUED, OUTBOX_SUPPRESSED, OutboxMessage
from helpdesk.mail.tokens import (
    mail_domain,
    parse_reply_address,
    parse_setting_address,
    reply_address,
    support_address,
    thread_root_id,
)
from helpdesk.querying import lock_name

log = logging.getLogger("helpdesk.mail")

# Headers an outbox row may carry besides the ones built from its columns.
EXTRA_HEADERS = ("Reply-To", "In-Reply-To", "References", "X-Helpdesk-Ticket")
# Shown above the text of every mail one can answer; inbound replies are cut there.
REPLY_MARKER = "-- Reply above this line --"
# Mails to agents about internal things (an @mention in an internal note, an assignment, a
# target at risk): they carry no reply address and no reply marker, since a reply on a ticket
# by mail is public and goes to the customer; inbound mail answering one is never posted
# publicly (inbound.py).
NOTICE_KINDS = ("sla_at_risk",)


def is_notice(kind):
    """Whether mail of this outbox kind is an agent's notice (see NOTICE_KINDS): not to be answered."""
    return bool(kind) and (kind.startswith("notice_") or kind in NOTICE_KINDS)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def clean_header(text, limit=300):
    """One line of header text: CR, LF and every other control character become a space."""
    return " ".join(_CONTROL.sub(" ", str(text or "")).split())[:limit]


def from_address():
    return parse_setting_address(current_app.config["MAIL_FROM"] or "")


def is_own_address(addr):
    """Our From, our support address, or any reply address of ours (signed or not)."""
    addr = (addr or "").strip().lower()
    return addr in (from_address(), support_address()) or parse_reply_address(addr) is not None


def new_message_id():
    return f"<{secrets.token_hex(16)}@{mail_domain()}>"


def ticket_headers(ticket_id, user_id=None, issued=None, notice=False):
    """Threading and reply headers for a mail about a ticket; replies go to the recipient's own
    reply address (the plain support address for a recipient without an account), issued at
    `issued` (now). A `notice` (is_notice) threads with the ticket's mail but has no Reply-To:
    it names no reply address, so nothing in it invites an answer onto the ticket."""
    root = thread_root_id(ticket_id)
    headers = {
        "Reply-To": reply_address(ticket_id, user_id, issued) if user_id else support_address(),
        "In-Reply-To": root,
        "References": root,
        "X-Helpdesk-Ticket": str(ticket_id),
    }
    if notice:
        del headers["Reply-To"]
    return headers


_ANSWERING = ContextVar("answering_inbound_mail", default=False)


@contextmanager
def answering_inbound_mail():
    """Mark what is written inside as caused by a message that came in (see `automatic`)."""
    token = _ANSWERING.set(True)
    try:
        yield
    finally:
        _ANSWERING.reset(token)


def answering():
    """Whether the mail being written now answers inbound mail (acknowledgements then are
    automatic: an acknowledgement of a ticket someone opened on our pages cannot start a loop)."""
    return _ANSWERING.get()


def lock_address(to_addr):
    """Serialise, until the transaction ends, whatever counts automatic mail to `to_addr` and then
    writes some: on PostgreSQL a transaction-scoped advisory lock per address (taken again by the
    same transaction, it is already held), so app servers writing at the same moment cannot both
    pass a limit; SQLite serialises writers at BEGIN IMMEDIATE already (querying.lock_name)."""
    lock_name(f"auto-mail:{to_addr}")


def _automatic_sent(to_addr, since):
    """Automatic mails written for this address since `since`, whatever the ticket (a loop with
    another machine opens a new ticket each round, so a count per ticket would never stop it);
    suppressed ones not counted. Counted under lock_address, so the count and the insert are one."""
    lock_address(to_addr)
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.to_addr == to_addr,
            OutboxMessage.automatic.is_(True),
            OutboxMessage.status != OUTBOX_SUPPRESSED,
            OutboxMessage.created_at >= since,
        )
    )


def render_mail(template, context):
    """A mail template rendered with the mail's own context only. Flask's render_template would
    also run the web layout's context processor in a request (navigation and banners: queries a
    mail never shows); a mail depends on nothing but what its notification passes, and the desk's
    name (branding), which its footer shows."""
    return current_app.jinja_env.get_template(template).render({"desk_name": desk_name(), **context})


class MailNotComposed(Exception):
    """A stored mail cannot be written: a row its template shows no longer exists."""


def _stored(value):
    """A context value as the outbox keeps it: plain values as they are now, rows by id."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    value = getattr(value, "_get_current_object", lambda: value)()  # current_user is a proxy
    if isinstance(value, db.Model):
        identity = inspect(value).identity
        if identity is None:
            raise ValueError(f"{value!r} has no id yet: flush it before its mail is queued")
        return {"$row": type(value).__name__, "id": identity[0]}
    raise TypeError(f"a mail's context holds plain values and rows, not {type(value).__name__}")


def _models():
    return {mapper.class_.__name__: mapper.class_ for mapper in db.Model.registry.mappers}


def _loaded(value, models):
    if isinstance(value, dict) and "$row" in value:
        row = db.session.get(models[value["$row"]], value["id"])
        if row is None:
            raise MailNotComposed(f"{value['$row']} {value['id']} no longer exists")
        return row
    return value


def compose(row):
    """Write the bodies and headers of a stored mail, once (a composed row is left as it is).

    The worker composes each mail when it first claims it (and `devbox` or suppressed mail is
    composed when it is written): the template renders the context stored with the row, its
    values as they were at the event and its rows (ticket, message, recipient, ...) as they are
    now, so the mail is the one the request would have written. Raises MailNotComposed when a
    row it shows is gone."""
    if row.body_text is not None:
        return row
    models = _models()
    context = {key: _loaded(value, models) for key, value in (row.context or {}).items()}
    ticket = context.get("ticket")
    notice = is_notice(row.kind)
    context["reply_marker"] = REPLY_MARKER if ticket is not None and not notice else None
    headers = (
        ticket_headers(ticket.id, row.user_id, issued=row.created_at, notice=notice)
        if ticket is not None
        else {}
    )
    if row.automatic:
        headers["Auto-Submitted"] = "auto-replied"
    row.body_text = render_mail(f"mail/{row.template}.txt", context)
    row.body_html = render_mail(f"mail/{row.template}.html", context)
    row.headers = headers
    return row


def queue(
    kind,
    *,
    to_addr,
    to_name=None,
    user_id=None,
    template,
    subject,
    ticket=None,
    automatic=False,
    **context,
):
    """Write one outbox row in the caller's transaction and return it (added to the session: it
    is inserted with the transaction's other rows at the next flush).

    Guarantees: the mail exists exactly when its event does, with its Message-ID fixed now; what
    it says is stored with it (the template, the values of the event and the ids of its rows) and
    written out by the worker before it is first sent (see `compose`), so the request pays for no
    template. With MAIL_BACKEND "devbox" the row is composed at once and kept for the development
    mailbox, never sent; otherwise the worker delivers it. An `automatic` mail (an
    acknowledgement, "you now follow": mail nobody wrote, sent because mail came in) carries
    `Auto-Submitted: auto-replied` (RFC 3834), and beyond MAIL_AUTO_PER_HOUR of them to one
    address in an hour (about this ticket or any other) it is kept as "suppressed" and never
    sent (logged).
    """
    context.update(subject=subject, ticket=ticket)
    to_addr = to_addr.strip().lower()
    now = utcnow()
    row = OutboxMessage(
        kind=kind,
        message_id=new_message_id(),
        to_addr=to_addr,
        to_name=clean_header(to_name, 200) or None,
        user_id=user_id,
        subject=clean_header(subject, 300),
        template=template,
        context={key: _stored(value) for key, value in context.items()},
        headers={},
        ticket_id=ticket.id if ticket is not None else None,
        status=OUTBOX_QUEUED,
        automatic=automatic,
        next_attempt_at=now,
        created_at=now,
    )
    limit = current_app.config["MAIL_AUTO_PER_HOUR"]
    if automatic and _automatic_sent(to_addr, now - timedelta(hours=1)) >= limit:
        row.status = OUTBOX_SUPPRESSED
        row.last_error = (
            f"not sent: {limit} automatic mails to this address in the last hour (MAIL_AUTO_PER_HOUR)"
        )
        log.warning("automatic %s mail to %s suppressed: %s", kind, to_addr, row.last_error)
    elif current_app.config["MAIL_BACKEND"] == "devbox":
        row.status = OUTBOX_DEVBOX
        row.sent_at = now
    if row.status != OUTBOX_QUEUED:  # never sent: composed now, for the admins' mail pages
        compose(row)
    db.session.add(row)
    return row


def queue_request(kind, to_addr, subject):
    """Write, in the caller's transaction, a request for mail that only the worker decides on (see
    notify.address_request): an outbox row of `kind` naming the address someone typed, with no
    recipient, template or text. It is never sent: the worker's claim replaces it with the mail it
    comes to, if any (notify.resolve_request); `subject` says so on the admins' outbox page
    meanwhile. Returns the row (added to the session)."""
    now = utcnow()
    row = OutboxMessage(
        kind=kind,
        message_id=new_message_id(),
        to_addr=to_addr.strip().lower(),
        subject=subject,
        headers={},
        status=OUTBOX_QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(row)
    return row


def build_email(row):
    """The RFC 5322 message for an outbox row; header values are single lines, names encoded."""
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = Address(display_name=clean_header(sender_name()), addr_spec=from_address())
    msg["To"] = Address(display_name=clean_header(row.to_name), addr_spec=row.to_addr)
    msg["Subject"] = clean_header(row.subject)
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id
    for name in EXTRA_HEADERS:
        if (row.headers or {}).get(name):
            msg[name] = clean_header(row.headers[name], 2000)
    msg["Auto-Submitted"] = (row.headers or {}).get("Auto-Submitted") or "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    return msg
