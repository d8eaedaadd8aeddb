"""What the tickets domain keeps of a customer whose personal data an admin erased
(events.personal_data_erased; accounts/erasure.py, docs/decisions.md).

The tickets they opened keep their rows (number, dates, category, priority, status, assignee,
organization, charges: reports and the ledger count them), but their subject, description and the
text of every message on them become "[erased]" (agents' replies quote the customer), and every
file on them goes. Their messages on other tickets (as a subscriber) are erased likewise, with
every file they uploaded anywhere. The search documents follow through the database's triggers
(search_schema.py), so no search finds the erased words, and on SQLite the index is merged so
that its file holds none of them either.
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update

from helpdesk.accounts.erasure import ERASED_TEXT, replace_in
from helpdesk.extensions import db
from helpdesk.rendering import stored_html
from helpdesk.tickets import lifecycle, search_schema
from helpdesk.tickets.models import (
    Attachment,
    Message,
    ReplyDraft,
    Subscription,
    Ticket,
    TicketDraft,
    TicketEvent,
    TicketPresence,
)
from helpdesk.tickets.uploads import remove_file_of


def requested_ticket_ids(user):
    """A SELECT of the ids of the tickets `user` opened (for the domains above: their mail, notices,
    webhook deliveries and time notes about those tickets go too)."""
    return select(Ticket.id).where(Ticket.requester_id == user.id)


def authored_message_ids(user):
    """A SELECT of the ids of the messages `user` wrote, on any ticket."""
    return select(Message.id).where(Message.author_id == user.id)


@dataclass(frozen=True)
class Reach:
    """What erasing a customer does to tickets, counted before it is done (for the question)."""

    tickets: int  # tickets they opened: kept, their text erased
    messages_elsewhere: int  # their messages on other tickets: text erased
    files: int  # files on their tickets and files they uploaded anywhere: deleted
    following: int  # tickets they follow as a subscriber: they stop


def reach(user):
    """Reach of erasing `user`: the numbers the confirmation states."""
    theirs = requested_ticket_ids(user)
    count = db.session.scalar
    return Reach(
        tickets=count(select(func.count()).select_from(theirs.subquery())),
        messages_elsewhere=count(
            select(func.count(Message.id)).where(
                Message.author_id == user.id, Message.ticket_id.not_in(theirs)
            )
        ),
        files=count(select(func.count(Attachment.id)).where(_their_files(user, theirs))),
        following=count(select(func.count(Subscription.id)).where(Subscription.user_id == user.id)),
    )


def _their_files(user, theirs):
    return or_(Attachment.ticket_id.in_(theirs), Attachment.uploader_id == user.id)


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that no subject, description, message or file of
    the tickets `user` opened, and no message or file of theirs elsewhere, keeps its text or
    bytes (the files leave the store when the transaction commits, and stay if it rolls back);
    that their new-ticket drafts, their subscriptions (each ended with a "subscriber removed"
    entry by `actor`), agents' unsent reply drafts and presence on their tickets are gone; and
    that no ticket history entry names their old address, nor, on their tickets, their old name.
    The tickets' other columns, and the messages' authors, times and kinds, stay. Flushes only."""
    theirs = requested_ticket_ids(user)
    for item in db.session.scalars(select(Attachment).where(_their_files(user, theirs))).all():
        remove_file_of(item)
    db.session.flush()
    html = stored_html(ERASED_TEXT)
    # Written with the HTML (a bulk UPDATE skips the models' before_update hook); the search
    # documents are rewritten by the database's own triggers on these columns.
    db.session.execute(
        update(Ticket)
        .where(Ticket.requester_id == user.id)
        .values(subject=ERASED_TEXT, body=ERASED_TEXT, body_html=html),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Message)
        .where(or_(Message.ticket_id.in_(theirs), Message.author_id == user.id))
        .values(body=ERASED_TEXT, body_html=html),
        execution_options={"synchronize_session": False},
    )
    search_schema.forget_replaced_words(db.session.connection())
    _forget_history(user, former, theirs)
    for subscription in db.session.scalars(select(Subscription).where(Subscription.user_id == user.id)).all():
        lifecycle.record_event(subscription.ticket, actor, "subscriber removed", user.email, None)
        db.session.delete(subscription)
    db.session.execute(delete(TicketDraft).where(TicketDraft.user_id == user.id))
    db.session.execute(delete(ReplyDraft).where(ReplyDraft.ticket_id.in_(theirs)))
    db.session.execute(delete(TicketPresence).where(TicketPresence.user_id == user.id))
    db.session.flush()
    db.session.expire_all()  # the bulk updates above: rows in the session are read afresh


def _forget_history(user, former, theirs):
    """History entries name people by address (subscribers) and by name ("opened for the
    customer"): their old address becomes the erased one everywhere, and an entry that is their
    old name, on the tickets they opened, their erased name (a name is not unique, and may be part
    of an agent's: only whole values, only there)."""
    options = {"synchronize_session": False}
    for column in (TicketEvent.old_value, TicketEvent.new_value):
        replace_in(column, former.email, user.email, column.contains(former.email, autoescape=True))
        db.session.execute(
            update(TicketEvent)
            .where(column == former.name, TicketEvent.ticket_id.in_(theirs))
            .values({column.key: user.name}),
            execution_options=options,
        )
