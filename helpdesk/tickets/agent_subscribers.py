"""Adding and removing a ticket's subscribers from the agent ticket page."""

from flask import flash, redirect, url_for
from flask_login import current_user

from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.htmx import is_htmx
from helpdesk.tickets import subscribers
from helpdesk.tickets.agent_ticket import render_ticket, visible_ticket
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import SubscriberForm
from helpdesk.web import field_errors


def _done(ticket, notice, error=None, form=None):
    if not is_htmx() and error is None:
        flash(notice, "success")
        return redirect(url_for("tickets_agent.ticket", ticket_id=ticket.id, _anchor="subscribers"))
    return render_ticket(
        ticket,
        subscriber_form=form,
        notice={"field": "subscribers", "text": notice} if notice else None,
        error={"field": "subscribers", "text": error} if error else None,
    )


@bp.post("/tickets/<int:ticket_id>/subscribers", endpoint="add_subscriber")
def add_subscriber(ticket_id):
    ticket = visible_ticket(ticket_id)
    form = SubscriberForm(prefix="subscriber")
    if not form.validate_on_submit():
        return _done(
            ticket,
            None,
            error=(field_errors(form.email, "E-mail") or ["Enter an e-mail address."])[0],
            form=form,
        )
    outcome = perform(subscribers.add_subscriber, ticket, current_user, form.email.data)
    if not outcome.ok:
        return _done(ticket, None, error=outcome.message, form=form)
    user, added = outcome.value
    return _done(ticket, f"{user.email} {'now follows' if added else 'already follows'} this ticket.")


@bp.post("/tickets/<int:ticket_id>/subscribers/<int:user_id>/remove", endpoint="remove_subscriber")
def remove_subscriber(ticket_id, user_id):
    ticket = visible_ticket(ticket_id)
    subscription = next((s for s in subscribers.subscribers_of(ticket) if s.user_id == user_id), None)
    if subscription is not None:
        asked = ask_first(
            f"Remove {subscription.user.name} from #{ticket.id}?",
            f"{subscription.user.email} stops getting mail about this ticket.",
            "Remove subscriber",
        )
        if asked:
            return asked
    outcome = perform(subscribers.remove_subscriber, ticket, current_user, user_id)
    if not outcome.ok:
        return _done(ticket, None, error=outcome.message)
    return _done(ticket, "Subscriber removed." if outcome.value else "Already not subscribed.")
