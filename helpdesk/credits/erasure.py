"""What the credits domain keeps of a customer whose personal data an admin erased
(events.personal_data_erased; docs/decisions.md, "Erasing a customer's personal data").

The ledger is append-only (the database refuses to change it) and holds amounts, kinds, ticket
numbers and fixed memos: it stays, and so do their bank and its balance, now named after the
anonymised account ("Erased customer #12"). What held their words goes.
"""

from sqlalchemy import delete, select, update

from helpdesk.accounts.erasure import replace_in
from helpdesk.credits.models import (
    CreditAccount,
    CreditAlert,
    CreditRequest,
    MemberCap,
    TimeEntry,
    TimeEntryRevision,
)
from helpdesk.extensions import db
from helpdesk.tickets.erasure import requested_ticket_ids


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that their requests for credits keep the amount and
    reason but not the subject of the ticket they were writing; their monthly caps in a shared
    bank (which they left) are gone; agents' time notes on the tickets they opened (which may quote
    them) are blank, in the entries and their revisions; and their bank's alerts no longer name
    them. Minutes and credits stay. Flushes only."""
    db.session.execute(update(CreditRequest).where(CreditRequest.requester_id == user.id).values(subject=""))
    db.session.execute(delete(MemberCap).where(MemberCap.user_id == user.id))
    entries = select(TimeEntry.id).where(TimeEntry.ticket_id.in_(requested_ticket_ids(user)))
    db.session.execute(
        update(TimeEntry).where(TimeEntry.id.in_(entries)).values(note=""),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(TimeEntryRevision)
        .where(TimeEntryRevision.entry_id.in_(entries))
        .values(old_note=None, new_note=None),
        execution_options={"synchronize_session": False},
    )
    replace_in(
        CreditAlert.text,
        former.name,
        user.name,
        CreditAlert.account_id.in_(select(CreditAccount.id).where(CreditAccount.user_id == user.id)),
        CreditAlert.text.contains(f"{former.name}'s bank", autoescape=True),
    )
    db.session.flush()
