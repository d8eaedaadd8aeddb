"""Notices of an agent's everyday work, from the domain events that cause them (in their
transaction): a ticket assigned to them by someone else (or by round-robin), a customer's reply
on a ticket assigned to them, an @mention in an internal note. Never to the person who acted."""

from sqlalchemy import delete, select, update

from helpdesk import policy
from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.notices.mentions import mentioned_agents
from helpdesk.notices.models import KIND_ASSIGNED, KIND_CUSTOMER_REPLIED, KIND_MENTIONED, Notice
from helpdesk.notices.service import link_path, notify
from helpdesk.tickets.thread_window import WHOLE


def _ticket(ticket):
    return f"#{ticket.id} “{ticket.subject}”"


def on_ticket_assigned(ticket, assignee, actor, reason=None):
    """The new assignee hears of it, unless they took it themselves: who assigned it, or, when
    the desk did, why ("#39 … was assigned to you: you had the ticket it follows up.")."""
    if assignee is None or (actor is not None and actor.id == assignee.id):
        return []
    if actor is not None:
        text = f"{actor.name} assigned {_ticket(ticket)} to you."
    else:
        text = f"{_ticket(ticket)} was assigned to you" + (f": {reason}." if reason else ".")
    return notify([assignee], KIND_ASSIGNED, text, ticket)


def on_message_posted(message, first_agent_reply):
    """A customer's public reply (portal or mail) tells the ticket's assignee; an internal note
    tells the agents it mentions (those who may see the ticket), never its author."""
    ticket, author = message.ticket, message.author
    if not message.internal:
        if ticket.assignee is None or (author is not None and author.is_agent):
            return []
        who = author.name if author is not None else "The customer"
        return notify(
            [ticket.assignee], KIND_CUSTOMER_REPLIED, f"{who} replied on {_ticket(ticket)}.", ticket
        )
    named = [
        agent
        for agent in mentioned_agents(message.body, message.body_html)
        if author is None or agent.id != author.id
    ]
    if not named:
        return []
    who = author.name if author is not None else "Someone"
    # The whole conversation (thread_window): the page shows only the latest messages, and once
    # more came since the note, "#message-N" of the page without it led nowhere.
    link = _note_link(ticket.id, message.id)
    text = f"{who} mentioned you in a note on {_ticket(ticket)}."
    return notify(named, KIND_MENTIONED, text, ticket, link=link)


def _note_link(ticket_id, message_id):
    anchor = f"message-{message_id}" if message_id is not None else None
    return link_path("tickets_agent.ticket", {"ticket_id": ticket_id, "thread": WHOLE, "_anchor": anchor})


def on_ticket_merged(duplicate, kept, actor):
    """A mention's notice leads to its note on its ticket's page: a note of the duplicate moved to
    the kept ticket (tickets/merging.py), so its notices lead there now (on the duplicate's page
    the link found nothing). The notice of an agent who may not see the kept ticket goes: its
    note is where they cannot follow it."""
    moved = f"{_note_link(duplicate.id, None)}#message-"
    rows = db.session.execute(
        select(Notice.id, Notice.link, User)
        .join(User, User.id == Notice.user_id)
        .where(Notice.ticket_id == duplicate.id, Notice.link.startswith(moved, autoescape=True))
    ).all()
    gone = [notice_id for notice_id, _link, user in rows if not policy.can_view_ticket(user, kept)]
    if gone:
        db.session.execute(delete(Notice).where(Notice.id.in_(gone)))
    for notice_id, link, _user in rows:
        note_id = link.removeprefix(moved)
        if notice_id not in gone and note_id.isascii() and note_id.isdigit():
            db.session.execute(
                update(Notice)
                .where(Notice.id == notice_id)
                .values(ticket_id=kept.id, link=_note_link(kept.id, int(note_id)))
            )
