"""The ticket page's live parts: the presence heartbeat (who else is here, what changed) and the
reply draft's autosave. Both are htmx requests of a page that works without them."""

from flask import abort, request
from flask_login import current_user
from sqlalchemy import bindparam, select

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.extensions import db
from helpdesk.htmx import render_fragment
from helpdesk.tickets import presence, reply_drafts, thread_window
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.models import Ticket

# What the policy reads of a ticket for an agent (its category), and what the notice compares.
TICKET_FOR_POLICY = select(Ticket.id, Ticket.category_id, Ticket.version).where(Ticket.id == bindparam("id"))


def _visible(ticket_id):
    """The ticket's id, category and version if this agent may see it; 404 otherwise."""
    row = db.session.execute(TICKET_FOR_POLICY, {"id": ticket_id}).first()
    if not policy.can_view_ticket(current_user, row):
        abort(404)
    return row


def _seen():
    """The page's Seen as the heartbeat sends it back (None when it sends nothing usable)."""
    version, message = request.form.get("seen_version", ""), request.form.get("seen_message", "")
    return presence.Seen.parse(f"{version}.{message}")


@bp.post("/tickets/<int:ticket_id>/presence", endpoint="presence")
def heartbeat(ticket_id):
    """Mark this agent on the page for a while; answer who else is here and what changed."""
    ticket = _visible(ticket_id)
    perform(presence.heartbeat, current_user, ticket)
    return render_fragment(
        "tickets/agent/_presence.html",
        ticket_id=ticket.id,
        others=presence.others_here(current_user, ticket),
        notice=presence.change_notice(current_user, ticket.id, _seen()),
        page_args=thread_window.thread_args(),  # "Show" keeps a whole conversation shown
    )


@bp.post("/tickets/<int:ticket_id>/draft", endpoint="draft")
def save_draft(ticket_id):
    """Keep the reply box's text (or the internal note box's, whichever the form sends) as this
    agent's draft; the reply box's marks them writing for a while."""
    ticket = _visible(ticket_id)
    kind = reply_drafts.NOTE if "note-body" in request.form else reply_drafts.REPLY
    body = request.form.get(f"{kind}-body", "")
    if len(body) > reply_drafts.MAX_BODY:
        return render_fragment("tickets/agent/_draft_status.html", text="Too long to keep as a draft.")
    key = request.form.get(f"{kind}-submission_key", "")
    outcome = perform(reply_drafts.save_while_writing, current_user, ticket, body, key, kind)
    saved = {reply_drafts.REPLY: "Draft saved.", reply_drafts.NOTE: "Note draft saved."}[kind]
    text = saved if outcome.ok and outcome.value else ""
    return render_fragment("tickets/agent/_draft_status.html", text=text)
