"""A subscriber's own "Stop following": the portal's way out of a ticket someone added them to."""

from flask import flash, redirect, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.extensions import db
from helpdesk.tickets import subscribers
from helpdesk.tickets.blueprints import portal_bp as bp
from helpdesk.tickets.models import Ticket


@bp.post("/tickets/<int:ticket_id>/stop-following", endpoint="stop_following")
def stop_following(ticket_id):
    if not policy.can_view_ticket(current_user, db.session.get(Ticket, ticket_id)):
        if subscribers.stopped_following_lately(ticket_id, current_user):  # sent twice: done by the first
            flash(f"You no longer follow ticket #{ticket_id}.", "info")
            return redirect(url_for("tickets_portal.tickets"))
    ticket = policy.get_ticket_or_404(current_user, ticket_id)
    back = url_for("tickets_portal.ticket", ticket_id=ticket.id)
    if not policy.can_stop_following(current_user, ticket):
        flash("You do not follow this ticket: it is yours, or your organization's.", "error")
        return redirect(back)
    question = ask_first(
        f"Stop following ticket #{ticket.id}?",
        "You will get no more mail about it and it leaves your tickets. Only the support team can "
        "add you again.",
        "Stop following",
        cancel_url=back,
        danger=False,
    )
    if question is not None:
        return question
    outcome = perform(subscribers.stop_following, ticket, current_user._get_current_object())
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(back)
    flash(f"You no longer follow ticket #{ticket.id} “{ticket.subject}”.", "success")
    return redirect(url_for("tickets_portal.tickets"))
