"""Articles and tickets: a draft made from an agent's message ("Turn this reply into an article"),
and the message an article came from."""

from sqlalchemy import select

from helpdesk import policy
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb.articles import MAX_BODY, MAX_TAGS, MAX_TITLE, create_article, parse_tags
from helpdesk.kb.models import VISIBILITY_AGENTS, VISIBILITY_CUSTOMERS, Article
from helpdesk.tickets.models import Message


def article_from_message(actor, message):
    """A draft made from a ticket's message ("Turn this reply into an article"): the ticket's
    subject, category and tags, the message's text; for agents only when it was an internal note.
    Made once per message: asking again gives back the same article (refused when it is in a
    category the actor may not write in now)."""
    ticket = message.ticket if message is not None else None
    if ticket is None or not policy.can_view_ticket(actor, ticket) or not policy.is_agent(actor):
        raise NotAllowed("You may not use this message.")
    if message.internal and not policy.can_see_internal(actor, ticket):
        raise NotAllowed("You may not use this message.")
    existing = made_from(message)
    if existing is not None:
        if not policy.can_edit_article(actor, existing):
            # moved since to a category not theirs: its address would answer 404
            raise NotAllowed(
                f"An article was made from this message already, “{existing.title}” in "
                f"{existing.category.name}: ask one of that category's technicians."
            )
        return existing
    tags = []
    for name in ticket.tag_names:
        try:
            tags.extend(parse_tags(name))
        except ValidationFailed:
            continue
    return create_article(
        actor,
        category_id=ticket.category_id,
        title=ticket.subject[:MAX_TITLE],
        body=(message.body or "").strip()[:MAX_BODY] or ticket.subject,
        visibility=VISIBILITY_AGENTS if message.internal else VISIBILITY_CUSTOMERS,
        tags=", ".join(tags[:MAX_TAGS]),
        source_message=message,
        note=f"Made from a message on ticket #{ticket.id}",
    )


def made_from(message):
    """The article made from the message earlier, if any."""
    return db.session.scalar(
        select(Article).where(Article.source_message_id == message.id).order_by(Article.id).limit(1)
    )


def message_for(actor, message_id):
    """The agent's reply or note `actor` may see (internal notes: agents only), else None: a
    customer's message is theirs, often with their own details, and never becomes an article
    (the ticket page offers the button on agents' messages only)."""
    message = db.session.get(Message, message_id)
    if message is None or not policy.can_view_ticket(actor, message.ticket):
        return None
    if message.author is None or not message.author.is_agent:
        return None
    if message.internal and not policy.can_see_internal(actor, message.ticket):
        return None
    return message


def source_of(article):
    """The message (and so the ticket) the article was made from, if it still exists."""
    return db.session.get(Message, article.source_message_id) if article.source_message_id else None
