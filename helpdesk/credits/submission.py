"""A customer's submission: the ticket and the charge for its priority, in one transaction.

Guarantees: the server quotes the price from the current tariff and the customer's plan, never
from the form; a priority the plan does not offer is refused before anything is written; a paid
priority is charged to the customer's bank in the same transaction as the ticket
(InsufficientCredits otherwise, and the caller rolls both back); a resubmission with the same key
returns the first ticket and charges nothing more.
"""

from helpdesk.credits import quotes
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import Priority


def submit_ticket(actor, *, subject, body, category_id, priority_id, files=(), submission_key=None):
    """Open a ticket for `actor` and charge its priority. Returns (ticket, created)."""
    existing = lifecycle.find_submission(actor, submission_key)
    if existing is not None:
        return existing, False
    priority = db.session.get(Priority, priority_id)
    if priority is None:
        raise ValidationFailed("Choose one of the listed priorities.")
    price = quotes.new_ticket_price(actor, priority)
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
