"""The knowledge base on the agent's ticket page: a panel to search articles and insert one's link
or text into the reply, and 'Turn this reply into an article' (a draft made from a message).

The ticket page loads the panel into its sidebar (`hx-get` on load); without JavaScript its link
opens the panel as a page, where each article's text is there to copy.
"""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.htmx import is_htmx, render_page_or_block
from helpdesk.kb import from_tickets, search
from helpdesk.kb.blueprints import agent_bp as bp
from helpdesk.kb.forms import ActionForm
from helpdesk.kb.models import VISIBILITY_AGENTS

PANEL_RESULTS = 6


@bp.get("/tickets/<int:ticket_id>/panel", endpoint="ticket_panel")
def ticket_panel(ticket_id):
    ticket = policy.get_ticket_or_404(current_user, ticket_id)
    q = (request.args.get("q") or "").strip()[:200]
    if q:
        found = search.search(current_user, q)
        items = search.first_results(found, PANEL_RESULTS)
    else:
        items = search.suggestions(
            current_user, ticket.subject, category_id=ticket.category_id, limit=PANEL_RESULTS
        )
    return render_page_or_block(
        "kb/agent/ticket_panel.html",
        "panel",
        ticket=ticket,
        q=q,
        items=items,
        agents_only=VISIBILITY_AGENTS,
        full_page=not is_htmx(),
    )


@bp.post("/messages/<int:message_id>/article", endpoint="from_message")
def from_message(message_id):
    """'Turn this reply into an article': a draft from the message (the same draft if asked again)."""
    message = from_tickets.message_for(current_user, message_id)
    if message is None:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired: try again.", "error")
        return redirect(url_for("tickets_agent.ticket", ticket_id=message.ticket_id))
    earlier = from_tickets.made_from(message)
    outcome = perform(from_tickets.article_from_message, current_user, message)
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("tickets_agent.ticket", ticket_id=message.ticket_id))
    if earlier is None:
        flash("A draft made from the message: edit it, then publish it.", "success")
    else:
        flash(f"The article made from this message earlier ({outcome.value.status_label.lower()}).", "info")
    return redirect(url_for("kb_agent.edit", article_id=outcome.value.id))
