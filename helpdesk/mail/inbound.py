"""Inbound mail: replies onto tickets, new tickets from unknown mail, every message logged, none lost.

The sender is the From address (never Reply-To). A reply is placed by its signed token
(support+t<id>.<hmac>@domain) or by In-Reply-To/References naming our Message-IDs, and only
when that sender may reply to the ticket. Anything refused is logged with the raw message and
the sender is told nothing about the ticket.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from helpdesk import policy
from helpdesk.accounts import auth as accounts
from helpdesk.accounts import password_reset
from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.errors import UploadRejected
from helpdesk.extensions import db
from helpdesk.mail import notify
from helpdesk.mail.compose import is_own_address, parse_reply_address, ticket_from_root_id
from helpdesk.mail.models import (
    INBOUND_DUPLICATE,
    INBOUND_FAILED,
    INBOUND_IGNORED,
    INBOUND_NEW_TICKET,
    INBOUND_RATE_LIMITED,
    INBOUND_REFUSED,
    INBOUND_REJECTED,
    INBOUND_REPLY,
    InboundMail,
    OutboxMessage,
)
from helpdesk.mail.parse import parse, trim_quoted
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import uploads
from helpdesk.tickets.models import Category, Priority, Subscription, Ticket

log = logging.getLogger("helpdesk.mail")


class Refusal(Exception):
    """This message is not processed; the outcome and reason go to the log with the raw message."""

    def __init__(self, outcome, reason):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def ingest(raw, now=None):
    """Process one raw message and commit; returns its InboundMail log entry.

    Guarantees: the message ends up either on a ticket or in the log with its raw bytes;
    an unexpected error rolls back whatever was half-done and stores the message as failed.
    Only if the database itself refuses does this raise (the caller then keeps the message).
    """
    now = now or utcnow()
    entry = InboundMail(received_at=now, size=len(raw), outcome=INBOUND_FAILED)
    try:
        _process(entry, raw, now)
        db.session.add(entry)
        db.session.commit()
    except Refusal as refusal:
        db.session.rollback()
        entry = _logged(entry, raw, refusal.outcome, refusal.reason)
    except Exception as exc:
        db.session.rollback()
        log.exception("inbound mail could not be processed")
        entry = _logged(entry, raw, INBOUND_FAILED, f"{type(exc).__name__}: {exc}")
    else:
        log.info("inbound mail from %s: %s (ticket %s)", entry.from_addr, entry.outcome, entry.ticket_id)
    return entry


def _logged(entry, raw, outcome, reason):
    row = InboundMail(
        received_at=entry.received_at,
        message_id=entry.message_id,
        from_addr=entry.from_addr,
        subject=entry.subject,
        size=len(raw),
        outcome=outcome,
        reason=reason[:2000],
        raw=raw,
    )
    db.session.add(row)
    db.session.commit()
    log.warning("inbound mail from %s %s: %s", row.from_addr, outcome, reason)
    return row


def _process(entry, raw, now):
    cfg = current_app.config
    if len(raw) > cfg["MAIL_MAX_MESSAGE_BYTES"]:
        raise Refusal(INBOUND_REFUSED, f"message of {len(raw)} bytes is over MAIL_MAX_MESSAGE_BYTES")
    mail = parse(raw)
    entry.message_id = (mail.message_id or "")[:255] or None
    entry.from_addr = (mail.from_addr or "")[:320] or None
    entry.subject = mail.subject[:300]
    if not mail.from_addr:
        raise Refusal(INBOUND_REFUSED, "no sender address in From")
    if mail.message_id and _already_processed(mail.message_id):
        raise Refusal(INBOUND_DUPLICATE, "this Message-ID was processed before")
    if is_own_address(mail.from_addr):
        raise Refusal(INBOUND_IGNORED, "sent from our own address (mail loop)")
    if mail.automatic:
        raise Refusal(INBOUND_IGNORED, f"automatic mail ({mail.automatic}): not answered, reopens nothing")
    if _recent_from(mail.from_addr, now) >= cfg["MAIL_INBOUND_RATE_LIMIT"]:
        raise Refusal(INBOUND_RATE_LIMITED, f"more than {cfg['MAIL_INBOUND_RATE_LIMIT']} messages in an hour")
    ticket = _target_ticket(mail)
    if ticket is not None:
        _reply(entry, mail, ticket)
    else:
        _new_ticket(entry, mail)


def _already_processed(message_id):
    return db.session.scalar(
        select(func.count(InboundMail.id)).where(
            InboundMail.message_id == message_id[:255],
            InboundMail.outcome.in_((INBOUND_REPLY, INBOUND_NEW_TICKET)),
        )
    )


def _recent_from(addr, now):
    return db.session.scalar(
        select(func.count(InboundMail.id)).where(
            InboundMail.from_addr == addr[:320], InboundMail.received_at >= now - timedelta(hours=1)
        )
    )


def _ticket_of_reference(msgid):
    ticket_id = ticket_from_root_id(msgid)
    if ticket_id is None:
        ticket_id = db.session.scalar(
            select(OutboxMessage.ticket_id).where(OutboxMessage.message_id == msgid[:255])
        )
    return ticket_id


def _target_ticket(mail):
    """The ticket this message answers, None for a new conversation; Refusal when forged or mismatched."""
    token_ids = set()
    for addr in mail.recipients:
        parsed = parse_reply_address(addr)
        if parsed is None:
            continue
        ticket_id, valid = parsed
        if not valid:
            raise Refusal(INBOUND_REJECTED, f"forged reply token for ticket #{ticket_id}")
        token_ids.add(ticket_id)
    if len(token_ids) > 1:
        raise Refusal(INBOUND_REJECTED, "reply tokens for several tickets")
    referenced = [tid for tid in (_ticket_of_reference(m) for m in mail.references) if tid is not None]
    if token_ids:
        ticket_id = token_ids.pop()
        if referenced and ticket_id not in referenced:
            raise Refusal(INBOUND_REJECTED, f"token for ticket #{ticket_id} but references another ticket")
    elif referenced:
        ticket_id = referenced[0]
    else:
        return None
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise Refusal(INBOUND_REJECTED, f"ticket #{ticket_id} does not exist")
    return ticket


def _checked_files(mail):
    """Attachments that pass the upload checks, and the reasons the others were refused."""
    accepted, refused = [], []
    limit = current_app.config["MAX_ATTACHMENTS_PER_POST"]
    for name, data in mail.attachments:
        if len(accepted) >= limit:
            refused.append(f"{name}: more than {limit} attachments")
            continue
        try:
            uploads.check_upload(name, data)
        except UploadRejected as exc:
            refused.append(str(exc))
        else:
            accepted.append((name, data))
    return accepted, refused


def _body(text, refused, has_files):
    body = text.strip()
    if refused:
        notes = "\n".join(f"- {reason}" for reason in refused)
        body = f"{body}\n\n(Attachments not accepted:\n{notes})".strip()
    return body or ("(attachments only)" if has_files else "")


def _reply(entry, mail, ticket):
    user = accounts.find_user_by_email(mail.from_addr)
    if user is None or not policy.can_reply(user, ticket):
        raise Refusal(INBOUND_REJECTED, f"sender may not reply to ticket #{ticket.id}")
    files, refused = _checked_files(mail)
    body = _body(trim_quoted(mail.text), refused, bool(files))
    if not body:
        raise Refusal(INBOUND_REFUSED, "empty reply")
    tickets.add_message(ticket, user, body, files=files, source="email")
    entry.outcome, entry.ticket_id = INBOUND_REPLY, ticket.id
    entry.reason = "; ".join(refused) or None


def default_category():
    """DEFAULT_CATEGORY by name if active, else the first active category by name."""
    name = current_app.config.get("DEFAULT_CATEGORY")
    active = select(Category).where(Category.archived.is_(False))
    if name:
        found = db.session.scalar(active.where(Category.name == name))
        if found is not None:
            return found
    return db.session.scalars(active.order_by(Category.name)).first()


def default_priority():
    """DEFAULT_PRIORITY by name, else the least urgent priority (the free one)."""
    found = db.session.scalar(select(Priority).where(Priority.name == current_app.config["DEFAULT_PRIORITY"]))
    return found or db.session.scalars(select(Priority).order_by(Priority.sort_order)).first()


def _new_ticket(entry, mail):
    user = accounts.ensure_user(mail.from_addr, mail.from_name or None)
    if not user.active:
        raise Refusal(INBOUND_REJECTED, "the sender's account is deactivated")
    category, priority = default_category(), default_priority()
    if category is None or priority is None:
        raise Refusal(INBOUND_REFUSED, "no active category or no priority to open a ticket with")
    files, refused = _checked_files(mail)
    body = _body(mail.text, refused, bool(files)) or "(no text)"
    ticket, _created = submission.submit_ticket(
        user,
        subject=mail.subject[:200] or "(no subject)",
        body=body,
        category_id=category.id,
        priority_id=priority.id,
        files=files,
    )
    if current_app.config["MAIL_CC_SUBSCRIBE"] and user.is_customer:
        _subscribe_cc(ticket, user, mail.cc)
    entry.outcome, entry.ticket_id = INBOUND_NEW_TICKET, ticket.id
    entry.reason = "; ".join(refused) or None


def _subscribe_cc(ticket, requester, cc):
    """Cc'd people of a customer's new-ticket mail follow the ticket (customers only, never agents)."""
    seen = {requester.email}
    for name, addr in cc:
        if addr in seen or is_own_address(addr):
            continue
        seen.add(addr)
        follower = accounts.ensure_user(addr, name or None)
        if not follower.active or follower.is_agent:
            continue
        db.session.add(Subscription(ticket_id=ticket.id, user_id=follower.id, added_by_id=requester.id))
        db.session.flush()
        invite = password_reset.set_password_url(follower) if follower.password_hash is None else None
        notify.subscriber_added(ticket, follower, actor=requester, set_password_url=invite)
