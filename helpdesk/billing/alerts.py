"""Billing alerts: money matters an admin must look at, recorded and mailed to the admins at once.

Guarantees: an alert is a row written in the caller's transaction and announced by
`events.billing_alert_raised` (the mail domain queues the admins' mail in the same transaction);
an alert about a Stripe object no payment matched yet carries that object as its `reference`
and is resolved by itself when the payment turns up.
"""

from sqlalchemy import select

from helpdesk import events
from helpdesk.billing.models import BillingAlert
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

ALERT_SUBJECTS = {
    "unknown_session": "a paid checkout matches no payment",
    "amount_mismatch": "a checkout was paid with the wrong amount",
    "refund_unmatched": "a card refund matches no payment",
    "refund_debt": "a card refund put a bank in debt",
    "dispute": "a card payment is disputed",
    "dispute_unmatched": "a card dispute matches no payment",
}


def alert(kind, message, payment=None, account_id=None, reference=None):
    """Record something an admin must look at, and mail it to the admins."""
    item = BillingAlert(
        kind=kind,
        message=message[:500],
        payment_id=payment.id if payment is not None else None,
        account_id=account_id if account_id is not None else (payment.account_id if payment else None),
        reference=reference,
    )
    db.session.add(item)
    db.session.flush()
    subject = f"Billing: {ALERT_SUBJECTS.get(kind, kind.replace('_', ' '))}"
    events.billing_alert_raised.send(alert=item, subject=subject)
    return item


def resolve_by_reference(reference, payment):
    """Resolve the open alerts about `reference` (a payment intent no payment matched): it has now
    matched `payment`, whose ledger takes it into account."""
    items = db.session.scalars(
        select(BillingAlert).where(BillingAlert.reference == reference, BillingAlert.resolved_at.is_(None))
    ).all()
    for item in items:
        item.resolved_at, item.payment_id, item.account_id = utcnow(), payment.id, payment.account_id
    db.session.flush()
    return items
