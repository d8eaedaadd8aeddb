"""Saved replies in the ticket page's reply form: the select's choices and its "Insert" button
(without JavaScript, or with it: the server adds the filled text after what was typed)."""

from flask import request

from helpdesk.actions import perform
from helpdesk.formfields import parse_id
from helpdesk.replies import service


def insert_into_reply(form, ticket, actor):
    """The reply form's "Insert" (without JavaScript, or the select with it): the chosen reply,
    filled for this ticket, added after what was typed. Returns a message for the page."""
    reply_id = parse_id(request.form.get("reply-saved"))
    reply = service.get_for(actor, reply_id) if reply_id is not None else None
    if reply is None or not (reply.owner_id == actor.id or reply.category_id == ticket.category_id):
        form.body.errors = ["Choose a saved reply to insert."]
        return None
    text = service.fill(reply.body, service.values_for(ticket, actor))
    typed = (form.body.data or "").rstrip()
    form.body.data = f"{typed}\n\n{text}" if typed else text
    perform(service.record_use, reply.id)
    return f"Inserted “{reply.title}”: edit it if needed, then send."


def choices_for_ticket(actor, ticket):
    """The reply form's select: (id, label) of the replies usable on the ticket, plain data."""
    return [
        (reply_id, f"{title} ({category})" if category else title)
        for reply_id, title, category in service.reply_choices(actor, ticket)
    ]
