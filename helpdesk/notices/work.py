"""Notices of an agent's everyday work, from the domain events that cause them (in their
transaction): a ticket assigned to them by someone else (or by round-robin), a customer's reply
on a ticket assigned to them, an @mention in an internal note. Never to the person who acted."""

from helpdesk.notices.mentions import mentioned_agents
from helpdesk.notices.models import KIND_ASSIGNED, KIND_CUSTOMER_REPLIED, KIND_MENTIONED
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
    link = link_path(
        "tickets_agent.ticket", {"ticket_id": ticket.id, "thread": WHOLE, "_anchor": f"message-{message.id}"}
    )
    text = f"{who} mentioned you in a note on {_ticket(ticket)}."
    return notify(named, KIND_MENTIONED, text, ticket, link=link)
