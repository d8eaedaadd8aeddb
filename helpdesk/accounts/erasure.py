"""Erasing a customer's personal data on request (GDPR article 17, the right to erasure).

One transaction: the account is deactivated and anonymised for good ("Erased customer #12",
erased-12@invalid, no password, no second factor, no organization), every session, link and
token of theirs ends, and events.personal_data_erased has each domain erase or anonymise what it
keeps of them (tickets, messages and files, mail, API, credits, billing, knowledge base, notices,
webhooks). What is kept, and why, is listed in docs/decisions.md ("Erasing a customer's personal
data"): the rows that reports and the ledger need stay, without the person's words or identity.
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, update

from helpdesk import events, policy
from helpdesk.accounts import audit, password_reset, two_factor
from helpdesk.accounts.auth import rotate_sessions
from helpdesk.accounts.models import AUDIT_DETAILS, AUDIT_ERASED, AUDIT_ORG_MEMBER, AuditEvent, Throttle
from helpdesk.accounts.users import set_active
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db
from helpdesk.querying import lock_row

ERASED_TEXT = "[erased]"  # what stays of an erased text (a ticket's subject, a message's body)
HISTORY_TEXT = "personal data erased"  # the audit entry's words: nothing about the person


@dataclass(frozen=True)
class Former:
    """What the account was called before it was erased: the receivers look for these words in
    their own rows (a history entry naming the address, a notice naming the person), then forget them."""

    name: str
    email: str


def erased_name(user):
    return f"Erased customer #{user.id}"


def erased_email(user):
    """An address that can never receive mail (RFC 6761 reserves .invalid) and stays unique."""
    return f"erased-{user.id}@invalid"


def refusal(actor, user):
    """Why `actor` may not erase `user`'s personal data (a sentence), or None when they may."""
    if policy.can_erase_personal_data(actor, user):
        return None
    if user.erased:
        return f"The personal data of this account was already erased on {user.erased_at:%Y-%m-%d}."
    if user.id == actor.id:
        return "You cannot erase your own personal data: another admin can, once you are a customer."
    if not user.is_customer:
        role = "an admin" if user.is_admin else "a technician"
        return (
            f"{user.name} is {role}: only a customer's personal data is erased here. Make them a "
            "customer first (Change role), then erase it."
        )
    return "Only admins erase personal data."


def erase_customer(actor, user):
    """Erase the personal data of the customer `user`, for good, in the caller's transaction.

    Guarantees: refused (NotAllowed, with refusal()'s sentence) for an agent, for oneself and for an
    account already erased; the account is deactivated (its sessions and remember-me cookies end,
    its API tokens are revoked) and anonymised: name "Erased customer #<id>", address
    erased-<id>@invalid (unique, and no mail can reach it), no password, no second factor or
    recovery code, UTC, no organization, every set-password link dead; the sign-in counters
    kept under their address go; the history entries that held their old name or address no
    longer do, and one entry says "personal data erased" by `actor`, and nothing else; then every
    domain erases what it keeps of them (events.personal_data_erased: see that event and
    docs/decisions.md), files deleted only once the transaction commits. Flushes only. Returns
    the user."""
    user = lock_row(user)
    reason = refusal(actor, user)
    if reason:
        raise NotAllowed(reason)
    former = Former(name=user.name, email=user.email)
    if user.active:
        set_active(actor, user, False)  # sessions end, API tokens revoked, history "deactivated"
    if user.organization_id is not None:
        audit.record(actor, AUDIT_ORG_MEMBER, user=user, old=user.organization.name, new=None)
        user.organization, user.is_org_manager = None, False
    user.name, user.email = erased_name(user), erased_email(user)
    user.password_hash = None
    user.timezone = "UTC"
    user.erased_at = utcnow()
    two_factor.disable(user)
    password_reset.forget_links(user)
    rotate_sessions(user)
    _forget_history(user, former)
    db.session.execute(delete(Throttle).where(Throttle.key.contains(former.email, autoescape=True)))
    audit.record(actor, AUDIT_ERASED, user=user, new=HISTORY_TEXT)
    db.session.flush()
    events.personal_data_erased.send(user=user, actor=actor, former=former)
    db.session.flush()
    return user


def _forget_history(user, former):
    """The administrative history keeps what was done, not who the person was: their corrected
    names and addresses become "[erased]", and their address in any other entry (held mail an
    admin accepted or discarded) becomes the erased one. (No other entry holds a customer's name.)"""
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.target_user_id == user.id, AuditEvent.kind == AUDIT_DETAILS)
        .values(old_value=ERASED_TEXT, new_value=ERASED_TEXT)
    )
    for column in (AuditEvent.old_value, AuditEvent.new_value):
        replace_in(column, former.email, user.email, column.contains(former.email, autoescape=True))


def replace_in(column, old, new, *where):
    """Write `new` for every `old` in `column` of the rows `where` selects (one UPDATE, the rows
    in the session left as they are): how each domain's erasure.py takes a former name or address
    out of the texts that quote it."""
    db.session.execute(
        update(column.class_).where(*where).values({column.key: func.replace(column, old, new)}),
        execution_options={"synchronize_session": False},
    )
