"""Inbound mail: replies onto tickets, new tickets from unknown mail, every message logged, none lost.

A reply to a closed ticket from someone who could reply while it was open (its requester, their
organization's manager, a subscriber) opens a follow-up ticket linked to it (inbound_tickets.py,
tickets/follow_ups.py); anyone else's is rejected. A resolved ticket reopens with the reply.

Machine mail (bounces, list mail, auto-replies) and our own mail is logged and never answered. The
sender is the From address (never Reply-To), and From is believed only when something proves it:
- the receiving MTA's Authentication-Results (authserv-id MAIL_TRUSTED_AUTHSERV_ID) say DMARC
  passed for the From domain (authres.py), or
- the message answers a reply address (or a Message-ID) we issued to that very sender, less than
  MAIL_REPLY_TOKEN_DAYS ago (tokens.py); an address issued to someone else is refused.
A DMARC failure is never posted. Neither is mail from an agent's address without a verified
sender, nor, with MAIL_REQUIRE_AUTH on, any mail without one, nor a reply proven by nothing (an
old-style shared reply address, References alone): such mail is held as "unverified" at
/admin/mail/inbound until an admin accepts it (review.py) or discards it. Anything refused is
logged with the raw message, and the sender is told nothing about the ticket. The one exception
is a message over MAIL_MAX_MESSAGE_BYTES: its sender, when its header proves them the same way and
nothing marks it as machine mail, is told once an hour that it was not received (too_large.py).
"""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from helpdesk import policy, querying
from helpdesk.accounts import auth as accounts
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import authres, too_large
from helpdesk.mail.compose import answering_inbound_mail, is_notice, is_own_address
from helpdesk.mail.inbound_tickets import body_of, checked_files, open_follow_up, open_ticket
from helpdesk.mail.models import (
    INBOUND_DUPLICATE,
    INBOUND_FAILED,
    INBOUND_IGNORED,
    INBOUND_NEW_TICKET,
    INBOUND_RATE_LIMITED,
    INBOUND_REFUSED,
    INBOUND_REJECTED,
    INBOUND_REPLY,
    INBOUND_UNVERIFIED,
    InboundMail,
    OutboxMessage,
)
from helpdesk.mail.parse import parse, parse_head, trim_quoted
from helpdesk.mail.refusal import Refusal
from helpdesk.mail.tokens import parse_reply_address, ticket_from_root_id
from helpdesk.mail.too_large import TooLarge
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import merging
from helpdesk.tickets.models import STATUS_CLOSED, Ticket

log = logging.getLogger("helpdesk.mail")
MAX_REFERENCES = 20  # message ids of In-Reply-To/References looked up per message
PLAUSIBLE_ADDRESS = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")


@dataclass(frozen=True)
class Target:
    """The ticket a message answers, and whether what it answered proves its sender (else why not)."""

    ticket: Ticket
    proven: bool
    doubt: str | None = None
    notice: bool = False  # it answers an agent's notice mail (compose.is_notice): never public


@dataclass(frozen=True)
class Reference:
    ticket_id: int
    user_id: int | None = None  # set for one of our outbox mails: whom it was sent to, and when
    sent_at: object = None
    notice: bool = False  # that mail was an agent's notice (compose.is_notice)


def ingest(raw, now=None):
    """Process one raw message and commit; returns its InboundMail log entry.

    Guarantees: the message ends up either on a ticket or in the log with its raw bytes;
    an unexpected error rolls back whatever was half-done and stores the message as failed; a
    Message-ID is posted once, however many copies arrive at the same moment.
    Only if the database itself refuses does this raise (the caller then keeps the message).
    """
    now = now or utcnow()
    entry = InboundMail(received_at=now, size=len(raw), outcome=INBOUND_FAILED)
    try:
        _process(entry, raw, now)
        db.session.add(entry)
        db.session.commit()
    except TooLarge as refusal:
        db.session.rollback()
        entry = _logged(entry, raw, refusal.outcome, _answer_too_large(entry, refusal, now))
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
        auth_result=entry.auth_result,
        ticket_id=entry.ticket_id
        if outcome in (INBOUND_UNVERIFIED, INBOUND_REJECTED, INBOUND_RATE_LIMITED)
        else None,
    )
    db.session.add(row)
    db.session.commit()
    log.warning("inbound mail from %s %s: %s", row.from_addr, outcome, reason)
    return row


def _process(entry, raw, now):
    cfg = current_app.config
    if len(raw) > cfg["MAIL_MAX_MESSAGE_BYTES"]:
        head = parse_head(raw)  # only the header: who sent it, for the log and its notice
        entry.message_id = (head.message_id or "")[:255] or None
        entry.from_addr = (head.from_addr or "")[:320] or None
        entry.subject = head.subject[:300]
        raise TooLarge(head, len(raw), cfg["MAIL_MAX_MESSAGE_BYTES"])
    mail = parse(raw)
    entry.message_id = (mail.message_id or "")[:255] or None
    entry.from_addr = (mail.from_addr or "")[:320] or None
    entry.subject = mail.subject[:300]
    if mail.automatic:
        raise Refusal(INBOUND_IGNORED, f"{mail.automatic}: logged, not answered, opens and reopens nothing")
    if not mail.from_addr:
        raise Refusal(INBOUND_REFUSED, "no sender address in From")
    if not PLAUSIBLE_ADDRESS.match(mail.from_addr):
        raise Refusal(INBOUND_REFUSED, "the From address is not a usable e-mail address")
    if mail.message_id:
        # Held until this message is stored: a copy arriving at the same moment (two polls, an MTA
        # delivering twice, on any server) waits, then finds it processed, instead of posting it too.
        querying.lock_name(f"inbound-mail:{mail.message_id[:255]}")
        if already_processed(mail.message_id):
            raise Refusal(INBOUND_DUPLICATE, "this Message-ID was processed before")
    if is_own_address(mail.from_addr):
        raise Refusal(INBOUND_IGNORED, "sent from our own address (mail loop)")
    post(entry, mail, now)


def _answer_too_large(entry, refusal, now):
    """The log's reason for a message over MAIL_MAX_MESSAGE_BYTES, its sender told by an automatic
    reply (too_large.tell) when its header proves them (_proven_writer) and they were not told
    within the hour, else why not. The notice is written in a savepoint: if writing it fails, the
    refusal is still logged (and says so)."""
    try:
        with db.session.begin_nested():
            sender, target = _proven_writer(entry, refusal.head, now)
            return too_large.tell(
                refusal,
                now,
                sender=sender,
                ticket=target.ticket if target is not None else None,
                thread=target is not None and not target.notice,  # no reply address for a notice's answer
            )
    except Refusal as why:
        return refusal.not_told(why.reason)
    except Exception as exc:
        log.exception("the notice of a message over MAIL_MAX_MESSAGE_BYTES could not be written")
        return refusal.not_told(f"the notice could not be written ({type(exc).__name__}: {exc})")


def _proven_writer(entry, head, now):
    """(account or None, Target or None) of a message read from its header alone, when that header
    proves its sender as post() would have (DMARC passed for From, or it answers a reply address or
    mail we issued to that very sender, within what _doubt allows) and it may be answered at all:
    not machine mail, not from our own address. Refusal saying why not otherwise."""
    why = None
    if head.head_cut:
        why = "its header is too long to be read whole"
    elif head.automatic:
        why = f"{head.automatic}: automatic mail is never answered"
    elif not head.from_addr or not PLAUSIBLE_ADDRESS.match(head.from_addr):
        why = "no usable From address"
    elif too_large.no_reply_sender(head.from_addr):
        why = "a no-reply sender address: automatic mail is never answered"
    elif is_own_address(head.from_addr):
        why = "sent from our own address"
    if why:
        raise Refusal(INBOUND_REFUSED, why)
    sender = accounts.find_user_by_email(head.from_addr)
    verdict = sender_verdict(head)
    entry.auth_result = verdict.detail[:500]
    target = _target(entry, head, sender, now)
    doubt = _doubt(verdict, sender, target)
    if doubt is None and not verdict.verified and not (target is not None and target.proven):
        doubt = f"nothing proves the sender ({verdict.detail})"
    if doubt:
        raise Refusal(INBOUND_REFUSED, f"the sender is not proven: {doubt}")
    return sender, target


def already_processed(message_id, exclude_id=None):
    """Whether a message with this Message-ID was posted, or is held for review, already."""
    query = select(func.count(InboundMail.id)).where(
        InboundMail.message_id == message_id[:255],
        InboundMail.outcome.in_((INBOUND_REPLY, INBOUND_NEW_TICKET, INBOUND_UNVERIFIED)),
    )
    if exclude_id is not None:
        query = query.where(InboundMail.id != exclude_id)
    return db.session.scalar(query)


def _recent_from(addr, now):
    """Messages from this address posted in the last hour (a reply, a new ticket): what the sender
    was proven to have sent, or an admin accepted. Mail held as unverified, rejected, ignored or
    refused is not counted, so forged mail in someone's name cannot use up their limit."""
    return db.session.scalar(
        select(func.count(InboundMail.id)).where(
            InboundMail.from_addr == addr[:320],
            InboundMail.received_at >= now - timedelta(hours=1),
            InboundMail.outcome.in_((INBOUND_REPLY, INBOUND_NEW_TICKET)),
        )
    )


def _check_rate(mail, now):
    """Refusal (rate limited) when the proven sender had MAIL_INBOUND_RATE_LIMIT messages posted
    in the last hour; the entry stays in the log, where an admin may accept it."""
    limit = current_app.config["MAIL_INBOUND_RATE_LIMIT"]
    if _recent_from(mail.from_addr, now) >= limit:
        raise Refusal(
            INBOUND_RATE_LIMITED,
            f"{limit} messages from this sender were posted in the last hour (MAIL_INBOUND_RATE_LIMIT);"
            " an admin may accept this one",
        )


def sender_verdict(mail):
    """What the trusted MTA's Authentication-Results say about this message's From."""
    if mail.from_count != 1:
        return authres.Verdict(authres.NONE, f"{mail.from_count} addresses in From: DMARC needs exactly one")
    cfg = current_app.config
    return authres.verdict(mail.auth_results, cfg["MAIL_TRUSTED_AUTHSERV_ID"], mail.from_addr)


def post(entry, mail, now, accepted_by=None, skip_rate_limit=False):
    """Place a parsed message: a reply on its ticket or a new ticket; Refusal when it may not be.

    Guarantees: nothing is posted for a sender who is not proven (see the module docstring) unless
    `accepted_by`, the admin who accepted the held message, vouches for it; then it is posted as
    if verified. A proven sender over MAIL_INBOUND_RATE_LIMIT is refused as rate limited (unless
    `skip_rate_limit`: an admin accepted that message). An answer to an agent's notice mail
    (compose.is_notice) becomes an internal note of that agent, never a public reply. Flushes only.
    """
    sender = accounts.find_user_by_email(mail.from_addr)
    verdict = sender_verdict(mail)
    if accepted_by is None:
        entry.auth_result = verdict.detail[:500]
    target = _target(entry, mail, sender, now)
    if target is not None and target.ticket.status == STATUS_CLOSED:
        tickets.lock_row(target.ticket)  # decided under its lock: reopened meanwhile, it takes the reply
    notice = target is not None and target.notice
    if notice and (sender is None or not policy.can_write_internal_note(sender, target.ticket)):
        raise Refusal(
            INBOUND_REJECTED,
            f"answers an agent's notice mail about ticket #{target.ticket.id}, which is never posted"
            f" publicly, and the sender {mail.from_addr} is not an agent who may write internal notes on it",
        )
    follow_up = (
        target is not None
        and not notice
        and sender is not None
        and policy.can_follow_up(sender, target.ticket)
    )
    if (
        target is not None
        and not follow_up
        and not notice
        and (sender is None or not policy.can_reply(sender, target.ticket))
    ):
        raise Refusal(INBOUND_REJECTED, _not_theirs(mail, sender, target.ticket))
    if accepted_by is None:
        doubt = _doubt(verdict, sender, target)
        if doubt:
            raise Refusal(INBOUND_UNVERIFIED, doubt)
    if not skip_rate_limit:
        _check_rate(mail, now)
    verified = accepted_by is not None or verdict.verified
    with answering_inbound_mail():
        if follow_up:
            entry.ticket_id = open_follow_up(entry, mail, target.ticket, sender).id
            entry.outcome = INBOUND_NEW_TICKET
        elif target is not None:
            _reply(entry, mail, target.ticket, sender, internal=notice)
        else:
            entry.ticket_id = open_ticket(entry, mail, verified=verified).id
            entry.outcome = INBOUND_NEW_TICKET


def _not_theirs(mail, sender, ticket):
    """Why this sender may not write on `ticket` by mail (the rejection's reason, for the admin)."""
    if sender is not None and not sender.active:
        return (
            f"the sender's account ({mail.from_addr}) is deactivated: it may not write on ticket #{ticket.id}"
        )
    if sender is not None and sender.is_agent:
        return f"the sender {mail.from_addr} is an agent who may not see ticket #{ticket.id} (its category)"
    return (
        f"the sender {mail.from_addr} is not the requester, their organization's manager or a"
        f" subscriber of ticket #{ticket.id}"
    )


def _doubt(verdict, sender, target):
    """Why the sender is not proven enough to post this, or None."""
    if verdict.status == authres.FAIL:
        return f"DMARC failed ({verdict.detail})"
    if verdict.verified:
        return None
    if sender is not None and sender.is_agent:
        return (
            f"{sender.email} is an agent's address: mail from staff needs a verified sender "
            f"(Authentication-Results dmarc=pass), whatever MAIL_REQUIRE_AUTH says ({verdict.detail})"
        )
    if current_app.config["MAIL_REQUIRE_AUTH"]:
        return f"sender not verified and MAIL_REQUIRE_AUTH is on ({verdict.detail})"
    if target is not None and not target.proven:
        return target.doubt
    return None


def _reference(msgid):
    ticket_id = ticket_from_root_id(msgid)
    if ticket_id is not None:
        return Reference(ticket_id)
    row = db.session.execute(
        select(
            OutboxMessage.ticket_id, OutboxMessage.user_id, OutboxMessage.created_at, OutboxMessage.kind
        ).where(OutboxMessage.message_id == msgid[:255])
    ).first()
    if row is None or row.ticket_id is None:
        return None
    return Reference(row.ticket_id, row.user_id, row.created_at, is_notice(row.kind))


def _target(entry, mail, sender, now):
    """The ticket this message answers, None for a new conversation; Refusal when forged or mismatched."""
    tokens = [t for t in (parse_reply_address(a) for a in mail.recipients) if t is not None]
    forged = next((t for t in tokens if not t.valid), None)
    if forged is not None:
        raise Refusal(INBOUND_REJECTED, f"forged reply address for ticket #{forged.ticket_id}")
    token_ids = {t.ticket_id for t in tokens}
    if len(token_ids) > 1:
        raise Refusal(INBOUND_REJECTED, "reply addresses of several tickets")
    references = [r for r in (_reference(m) for m in mail.references[:MAX_REFERENCES]) if r is not None]
    referenced = [r.ticket_id for r in references]
    if token_ids:
        ticket_id = token_ids.pop()
        if referenced and ticket_id not in referenced:
            raise Refusal(
                INBOUND_REJECTED, f"reply address of ticket #{ticket_id} but references another ticket"
            )
    elif referenced:
        ticket_id = referenced[0]
    else:
        return None
    ticket = merging.kept_ticket(db.session.get(Ticket, ticket_id))  # a merged ticket's mail goes on
    if ticket is None:
        raise Refusal(INBOUND_REJECTED, f"ticket #{ticket_id} does not exist")
    entry.ticket_id = ticket.id
    mine = [r for r in references if r.ticket_id == ticket_id]
    return Target(ticket, *_proof(tokens, mine, sender, now), notice=any(r.notice for r in mine))


def _proof(tokens, references, sender, now):
    """(True, None) when the message answers a reply address or mail we sent to its sender and
    that has not expired; else (False, why). Refusal for a reply address issued to someone else."""
    personal = [t for t in tokens if t.personal]
    if personal:
        own = [t for t in personal if sender is not None and t.user_id == sender.id]
        if not own:
            raise Refusal(
                INBOUND_REJECTED, "the reply address was issued to another recipient, not to the sender"
            )
        if all(t.expired(now) for t in own):
            return (
                False,
                f"the reply address expired on {own[0].expires_at():%Y-%m-%d} (MAIL_REPLY_TOKEN_DAYS)",
            )
        return True, None
    days = timedelta(days=current_app.config["MAIL_REPLY_TOKEN_DAYS"])
    ours = [r for r in references if sender is not None and r.user_id == sender.id]
    if any(r.sent_at + days >= now for r in ours):
        return True, None
    if ours:
        return False, "answers our mail to the sender older than MAIL_REPLY_TOKEN_DAYS"
    if tokens:
        return (
            False,
            "old-style reply address (one per ticket, shared by every recipient): proves nothing about the sender",
        )
    return False, "matched by References only, which prove nothing about the sender"


def _reply(entry, mail, ticket, user, internal=False):
    files, refused = checked_files(mail)
    body, files, cut = body_of(entry, mail, trim_quoted(mail.text), files, refused)
    if not body:
        raise Refusal(INBOUND_REFUSED, "empty reply")
    tickets.add_message(ticket, user, body, internal=internal, files=files, source="email")
    entry.outcome, entry.ticket_id = INBOUND_REPLY, ticket.id
    notes = [*cut, *refused]
    if internal:
        notes.insert(0, "posted as an internal note: it answers an agent's notice mail, never public")
    entry.reason = "; ".join(notes) or None
