"""An admin's decision on a message held as unverified (accept it as its sender, or discard it), or
on one refused as rate limited (accept it: post it despite the limit)."""

from sqlalchemy import update

from helpdesk import policy
from helpdesk.accounts import audit
from helpdesk.accounts import auth as accounts
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail import inbound
from helpdesk.mail.logs import OUTCOME_LABELS
from helpdesk.mail.models import INBOUND_DISCARDED, INBOUND_RATE_LIMITED, INBOUND_UNVERIFIED, InboundMail
from helpdesk.mail.parse import parse

AUDIT_MAIL_ACCEPTED = "mail_accepted"
AUDIT_MAIL_DISCARDED = "mail_discarded"
ACCEPTING = "accepting"  # inside the accepting transaction only: never committed


def _claim(entry, outcome, waiting=(INBOUND_UNVERIFIED,)):
    """Move the entry out of `waiting` ("unverified") in one conditional UPDATE: of two admins (or
    two clicks) at once, one gets the row and the other waits for its commit, then finds it taken."""
    claimed = db.session.execute(
        update(InboundMail)
        .where(InboundMail.id == entry.id, InboundMail.outcome.in_(waiting))
        .values(outcome=outcome)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(entry)
    if claimed != 1:
        now = OUTCOME_LABELS.get(entry.outcome, entry.outcome).lower()
        raise ValidationFailed(
            f"This message is no longer waiting for review (now: {now}); someone decided first."
        )


def accept(entry, actor, now=None):
    """Post a held message as if its sender were verified, or a rate-limited one despite
    MAIL_INBOUND_RATE_LIMIT, and record who decided so.

    Guarantees: admins only; posted at most once, however often or concurrently it is asked (the
    entry is claimed first, and a message with the same Message-ID already posted is refused);
    every rule but the sender's proof (for held mail) and the rate limit still applies (the sender
    must still be allowed to reply; a rate-limited message's sender must still be proven, as it
    was when it came in), and a refusal leaves the message where it was, with the reason for the
    admin. Flushes only.
    """
    if not policy.can_administer(actor):
        raise NotAllowed("Only admins review held mail.")
    was = entry.outcome
    _claim(entry, ACCEPTING, waiting=(INBOUND_UNVERIFIED, INBOUND_RATE_LIMITED))
    if not entry.raw:
        raise ValidationFailed("The raw message is not kept, so it cannot be posted.")
    mail = parse(entry.raw)
    if mail.message_id and inbound.already_processed(mail.message_id, exclude_id=entry.id):
        raise ValidationFailed("A message with the same Message-ID was posted already.")
    if not mail.from_addr:
        raise ValidationFailed("The message has no sender address to post it as.")
    held_because = entry.reason
    vouched = actor if was == INBOUND_UNVERIFIED else None  # a rate-limited sender proves themselves
    inbound.post(entry, mail, now or utcnow(), accepted_by=vouched, skip_rate_limit=True)
    label = "held" if was == INBOUND_UNVERIFIED else "rate limited"
    entry.reason = "; ".join(r for r in (f"{label}: {held_because}", entry.reason) if r)[:2000]
    entry.reviewed_by_id, entry.reviewed_at = actor.id, utcnow()
    audit.record(
        actor,
        AUDIT_MAIL_ACCEPTED,
        user=accounts.find_user_by_email(mail.from_addr),
        old=was,
        new=f"accepted mail #{entry.id} from {mail.from_addr}: {entry.outcome} on ticket #{entry.ticket_id}",
    )
    db.session.flush()
    return entry


def discard(entry, actor):
    """Keep a held message out for good (it stays in the log with its raw bytes), recording who.

    Guarantees: admins only; only a message still held (or rate limited); nothing is posted.
    Flushes only.
    """
    if not policy.can_administer(actor):
        raise NotAllowed("Only admins review held mail.")
    was = entry.outcome
    _claim(entry, INBOUND_DISCARDED, waiting=(INBOUND_UNVERIFIED, INBOUND_RATE_LIMITED))
    entry.reviewed_by_id, entry.reviewed_at = actor.id, utcnow()
    audit.record(
        actor,
        AUDIT_MAIL_DISCARDED,
        user=accounts.find_user_by_email(entry.from_addr) if entry.from_addr else None,
        old=was,
        new=f"discarded mail #{entry.id} from {entry.from_addr or '(no sender)'}",
    )
    db.session.flush()
    return entry
