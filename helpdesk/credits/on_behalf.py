"""A ticket an agent opens for a customer (a phone call, a walk-in, a forwarded mail).

Guarantees: the agent may open it only in a category they work; the customer is an existing
active customer or a new passwordless one (they can set a password from "Forgot password");
never an agent. A paid priority is charged to the customer's bank only when the agent ticked
that the customer agreed to pay, with the same price, plan rules, cap and idempotency as the
customer's own submission, in the same transaction as the ticket; the consent is kept in the
ticket's history with the agent who ticked it. Without the tick the ticket gets its priority at
no charge to the customer, as when an agent raises a priority on the ticket page. A resent form
(same submission key) gives back the first ticket and charges nothing more.
"""

from dataclasses import dataclass

from helpdesk import policy
from helpdesk.accounts import auth as accounts
from helpdesk.accounts.models import User
from helpdesk.credits import ledger, members, quotes
from helpdesk.credits.models import BILLING_TIME, ServicePlan
from helpdesk.errors import InsufficientCredits, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import Priority


class CustomerRefused(ValidationFailed):
    """The e-mail address cannot be the requester (shown on the customer field)."""


class CategoryRefused(ValidationFailed):
    """Not a category the agent works (shown on the category field)."""


@dataclass(frozen=True)
class CustomerPrices:
    """What an existing customer's plan offers them now, for the form's priority list."""

    customer: User
    plan: ServicePlan | None
    quotes: list  # quotes.quotes_for: a Quote for each priority of their plan, least urgent first

    @property
    def bills_time(self):
        """Their plan bills agent time by the minute: ticking the consent charges nothing now."""
        return self.plan is not None and self.plan.billing_mode == BILLING_TIME


def prices_for(email, category_id=None):
    """CustomerPrices for the active customer with this address, quoted as their own submission
    would be (quotes.quotes_for); None when the address is nobody's yet, an agent's or a
    deactivated account's (the form refuses those, or a new customer is made on submitting)."""
    user = accounts.find_user_by_email(email) if (email or "").strip() else None
    if user is None or user.is_agent or not user.active:
        return None
    return CustomerPrices(user, ledger.plan_for(user), quotes.quotes_for(user, category_id=category_id))


def customer_for(email, name):
    """The customer with this address, or a new passwordless one named `name`."""
    user = accounts.find_user_by_email(email)
    if user is None:
        if not (name or "").strip():
            raise CustomerRefused("No customer has this address yet: give their name to create one.")
        return accounts.ensure_user(email, name=name.strip())
    if user.is_agent:
        raise CustomerRefused(f"{user.email} is an agent's address: open tickets for customers.")
    if not user.active:
        raise CustomerRefused(f"{user.email} is deactivated: reactivate the account first.")
    return user


def open_for_customer(
    agent, *, email, name, subject, body, category_id, priority_id, consent, submission_key
):
    """Open the ticket for the customer; returns (ticket, created, credits charged)."""
    if not policy.can_use_category(agent, category_id):
        raise CategoryRefused("Choose one of the listed categories.")
    customer = customer_for(email, name)
    existing = lifecycle.find_submission(customer, submission_key)
    if existing is not None:
        return existing, False, 0
    priority = db.session.get(Priority, priority_id)
    if priority is None:
        raise ValidationFailed("Choose one of the listed priorities.")
    price = (None, 0)
    if consent:
        try:
            price = quotes.new_ticket_price(customer, priority)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"{customer.name}'s plan does not offer {priority.name}: choose another priority,"
                " or leave the box unticked to give it at no charge."
            ) from exc
    ticket, created = lifecycle.open_new_ticket(
        customer,
        subject=subject,
        body=body,
        category_id=category_id,
        priority_id=priority_id,
        submission_key=submission_key,
        opened_by=agent,
    )
    if not created:
        return ticket, False, 0
    lifecycle.record_event(ticket, agent, "opened for the customer", None, customer.name)
    account, cost = price
    if cost > 0:
        try:
            quotes.charge_new_ticket(customer, ticket, price, submission_key)
        except InsufficientCredits as exc:  # said to the customer; the agent is told what they can do
            raise _refused_charge(exc, customer, priority, cost) from exc
        lifecycle.record_event(
            ticket,
            agent,
            "customer's consent",
            None,
            f"agreed to pay {cost:,} credits (ticked by {agent.name})",
        )
    elif priority.credit_cost > 0:
        lifecycle.record_event(
            ticket, agent, "priority given", None, f"{priority.name} at no charge to the customer"
        )
    db.session.flush()
    return ticket, True, cost


def _refused_charge(exc, customer, priority, cost):
    """The refusal of a charge the customer's bank or monthly limit cannot take, said to the agent
    (the charge's own message speaks to the customer: "Buy credits"): what the agent can do now is
    choose another priority or give this one at no charge."""
    if isinstance(exc, members.OverCap):
        why = (
            f"{priority.name} priority ({cost:,} credits) is over {customer.name}'s monthly limit on their"
            " organization's bank (a manager of the organization can raise it)."
        )
    else:
        why = (
            f"Not enough credits in {customer.name}'s bank for {priority.name} priority: it costs"
            f" {cost:,} credits (they can buy credits in the portal)."
        )
    return InsufficientCredits(
        f"{why} Choose another priority, or leave the box unticked to give it at no charge."
        " Nothing was charged and no ticket was opened."
    )
