"""`/agent/tickets/new`: an agent opens a ticket for a customer who phoned, walked in or forwarded
a mail. The rules (categories, the customer, the consent to pay) are credits.on_behalf's."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.accounts import users
from helpdesk.actions import perform
from helpdesk.credits import on_behalf
from helpdesk.tickets import lifecycle
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import AgentNewTicketForm, new_submission_key, offer_categories


def _choices(form):
    offer_categories(
        form.category,
        [c for c in lifecycle.active_categories() if policy.can_use_category(current_user, c.id)],
    )
    priorities = list(reversed(lifecycle.all_priorities()))  # most urgent first
    form.priority.choices = [
        (p.id, f"{p.name} ({p.credit_cost:,} credits)" if p.credit_cost else f"{p.name} (free)")
        for p in priorities
    ]
    if form.priority.data is None and priorities:
        free = [p for p in priorities if not p.credit_cost]
        form.priority.data = (free[0] if free else priorities[-1]).id


@bp.route("/tickets/new", methods=["GET", "POST"], endpoint="new_ticket")
def new_ticket():
    form = AgentNewTicketForm()
    _choices(form)
    if not form.submission_key.data:
        form.submission_key.data = new_submission_key()
    if form.validate_on_submit():
        outcome = perform(
            on_behalf.open_for_customer,
            current_user,
            email=form.customer_email.data,
            name=form.customer_name.data,
            subject=form.subject.data,
            body=form.body.data,
            category_id=form.category.data,
            priority_id=form.priority.data,
            consent=form.consent.data,
            submission_key=form.submission_key.data,
        )
        if outcome.ok:
            ticket, _created, charged = outcome.value
            paid = f" {charged:,} credits charged to their bank." if charged else ""
            flash(f"Ticket #{ticket.id} opened for {ticket.requester.name}.{paid}", "success")
            return redirect(url_for("tickets_agent.ticket", ticket_id=ticket.id))
        fields = {on_behalf.CustomerRefused: form.customer_email, on_behalf.CategoryRefused: form.category}
        field = fields.get(type(outcome.error), form.priority)
        field.errors = [*field.errors, outcome.message]
    status = 422 if form.errors else 200
    return render_template("tickets/agent/new_ticket.html", form=form), status


@bp.get("/tickets/new/customers", endpoint="customer_matches")
def customer_matches():
    """The customers whose name or e-mail holds what the agent types in the on-behalf form's
    e-mail field, as the options of its <datalist> (htmx, as an extra: without JavaScript the
    field takes the address as typed)."""
    if not policy.can_look_up_customers(current_user):
        abort(404)
    found = users.customers_matching(request.args.get("customer_email", "")[:320])
    return render_template("tickets/agent/_customer_matches.html", found=found)
