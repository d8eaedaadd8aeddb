"""A customer's submission: the ticket and the charge for its priority, in one transaction.

Guarantees: the server quotes the price from the current tariff and the customer's plan, never
from the form, and refuses one higher than the form showed; a priority the plan does not offer is refused before anything is written; a paid
priority is charged to the customer's bank in the same transaction as the ticket
(InsufficientCredits otherwise, and the caller rolls both back); a resubmission with the same key
returns the first ticket and charges nothing more. A form the same as a ticket made moments ago
from another form (lifecycle.recent_twin: Back, then Submit) is asked about by the view first,
with charged_text and again_text.
"""

from helpdesk.credits import quotes
from helpdesk.credits.models import KIND_CHARGE, KIND_REFUND
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import Priority


def submit_ticket(
    actor, *, subject, body, category_id, priority_id, files=(), submission_key=None, shown_cost=None
):
    """Open a ticket for `actor` and charge its priority. Returns (ticket, created).

    `shown_cost`: the credits the form showed for the priority (None: not known). A price raised
    since (an admin's change, a plan switched in another tab) is refused with the new price,
    before anything is written: the customer is charged only what they were shown."""
    existing = lifecycle.find_submission(actor, submission_key)
    if existing is not None:
        return existing, False
    priority = db.session.get(Priority, priority_id)
    if priority is None:
        raise ValidationFailed("Choose one of the listed priorities.")
    price = quotes.new_ticket_price(actor, priority)
    if shown_cost is not None and price[1] > shown_cost:
        shown = f"the {shown_cost:,}" if shown_cost else "free as"
        raise ValidationFailed(
            f"{priority.name} costs {price[1]:,} credits now, not {shown} this form showed (its price"
            " changed since). Nothing was charged and no ticket was created: check the priorities"
            " below and submit again."
        )
    ticket, created = lifecycle.open_new_ticket(
        actor,
        subject=subject,
        body=body,
        category_id=category_id,
        priority_id=priority_id,
        files=files,
        submission_key=submission_key,
    )
    if created:
        quotes.charge_new_ticket(actor, ticket, price, submission_key)
    return ticket, created


def charged_text(ticket):
    """What the ticket's submission cost, for a question about it: "150 credits charged",
    "nothing charged", "150 credits charged, 150 refunded since"."""
    entries = quotes.ticket_entries(ticket)
    charged = -sum(e.amount for e in entries if e.kind == KIND_CHARGE)
    refunded = sum(e.amount for e in entries if e.kind == KIND_REFUND)
    if charged <= 0:
        return "nothing charged"
    text = f"{charged:,} credits charged"
    return text + (f", {refunded:,} refunded since" if refunded > 0 else "")


def again_text(quote):
    """What submitting the same ticket again would cost, from the form's quote (None: not offered)."""
    if quote is not None and quote.is_paid:
        return f"and charges {quote.cost:,} credits for it again"
    if quote is not None and quote.minute_rate:
        return "whose agent time is billed too"
    return "at no charge"
