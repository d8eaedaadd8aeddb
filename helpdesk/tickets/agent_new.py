"""`/agent/tickets/new`: an agent opens a ticket for a customer who phoned, walked in or forwarded
a mail. The rules (categories, the customer, the consent to pay) are credits.on_behalf's."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.accounts import users
from helpdesk.actions import perform
from helpdesk.confirming import Instead, ask_first, confirmed
from helpdesk.credits import on_behalf, submission
from helpdesk.tickets import lifecycle
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import AgentNewTicketForm, new_submission_key, offer_categories


def _choices(form):
    """The categories the agent works, and every priority (most urgent first) with what the
    customer typed in would pay: their plan's prices once the address is an existing customer's
    (on_behalf.prices_for), the list prices until then. Returns those prices (or None)."""
    offer_categories(
        form.category,
        [c for c in lifecycle.active_categories() if policy.can_use_category(current_user, c.id)],
    )
    prices = on_behalf.prices_for(form.customer_email.data, form.category.data)
    priorities = list(reversed(lifecycle.all_priorities()))  # most urgent first
    form.priority.choices = [(p.id, _priority_label(p, prices)) for p in priorities]
    if form.priority.data is None and priorities:
        free = [p for p in priorities if not p.credit_cost]
        form.priority.data = (free[0] if free else priorities[-1]).id
    return prices


def _priority_label(priority, prices):
    """ "High (150 credits)": the list price, or the customer's own; a priority their plan does not
    offer can still be given, at no charge (the consent box unticked)."""
    if prices is None:
        return (
            f"{priority.name} ({priority.credit_cost:,} credits)"
            if priority.credit_cost
            else f"{priority.name} (free)"
        )
    quote = next((q for q in prices.quotes if q.priority.id == priority.id), None)
    if quote is None:
        return f"{priority.name} (not in their plan: only at no charge)"
    if quote.is_paid:
        short = ", over their monthly limit" if quote.over_cap else ""
        short = short or (", more than their bank can pay" if quote.shortfall else "")
        return f"{priority.name} ({quote.cost:,} credits{short})"
    if quote.minute_rate:
        return f"{priority.name} (agent time, {quote.minute_rate:,} credit{'s' if quote.minute_rate != 1 else ''} a minute)"
    return f"{priority.name} (free)"


def _render_form(form, prices, status=200):
    return render_template("tickets/agent/new_ticket.html", form=form, prices=prices), status


@bp.route("/tickets/new", methods=["GET", "POST"], endpoint="new_ticket")
def new_ticket():
    form = AgentNewTicketForm()
    prices = _choices(form)
    if not form.submission_key.data:
        form.submission_key.data = new_submission_key()
    if request.form.get("show_prices"):  # without JavaScript: the customer's prices, nothing opened
        return _render_form(form, prices)
    if form.validate_on_submit():
        asked = _ask_about_twin(form, prices)
        if asked is not None:
            return asked
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
    return _render_form(form, prices, status=422 if form.errors else 200)


def _ask_about_twin(form, prices):
    """The same ticket as one the customer got moments ago (this form restored by Back and sent
    again, with a new key) is asked about before a second one is opened or charged: open the
    first, or open it again anyway (the question carries every field). None: nothing to ask."""
    if confirmed() or prices is None:  # a new address has no tickets yet
        return None
    customer = prices.customer
    twin = lifecycle.recent_twin(
        customer,
        subject=form.subject.data,
        body=form.body.data,
        category_id=form.category.data,
        submission_key=form.submission_key.data,
    )
    if twin is None:
        return None
    quote = next((q for q in prices.quotes if q.priority.id == form.priority.data), None)
    again = submission.again_text(quote if form.consent.data else None)
    return ask_first(
        f"This ticket was opened for {customer.name} a moment ago as #{twin.id}",
        f"#{twin.id} “{twin.subject}” ({twin.priority.name}, {submission.charged_text(twin)}). Opening it"
        f" again makes a second ticket {again}; nothing has been charged for it yet.",
        "Open it again anyway",
        danger=False,
        instead=Instead(f"Open #{twin.id}", url_for("tickets_agent.ticket", ticket_id=twin.id), method="get"),
    )


@bp.get("/tickets/new/priorities", endpoint="new_ticket_priorities")
def new_ticket_priorities():
    """The on-behalf form's priority list for the customer typed in (htmx, when the address
    changes): their plan's priorities and prices, the choice kept."""
    if not policy.can_look_up_customers(current_user):
        abort(404)
    form = AgentNewTicketForm(formdata=request.args, meta={"csrf": False})
    prices = _choices(form)
    return render_template("tickets/agent/_priority_choice.html", form=form, prices=prices)


@bp.get("/tickets/new/customers", endpoint="customer_matches")
def customer_matches():
    """The customers whose name or e-mail holds what the agent types in the on-behalf form's
    e-mail field, as the options of its <datalist> (htmx, as an extra: without JavaScript the
    field takes the address as typed)."""
    if not policy.can_look_up_customers(current_user):
        abort(404)
    found = users.customers_matching(request.args.get("customer_email", "")[:320])
    return render_template("tickets/agent/_customer_matches.html", found=found)
