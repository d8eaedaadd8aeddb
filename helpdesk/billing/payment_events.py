"""Verified payment events turned into ledger entries: each event once, each session credited once.

Guarantees (the caller has already verified the signature; the view commits):
- an event id is processed at most once: its StripeEvent row is inserted in the same transaction
  as its effects, and a second delivery (even a concurrent one) finds it and changes nothing;
- a session credits its bank at most once, whatever the order or number of deliveries: the
  Payment row is locked, re-read and checked, and the ledger key `purchase:<session>` is unique;
- the credited amount comes from our Payment row (copied from our pack), never from the event;
- a card refund reverses the refunded share of the credits (cumulative, integer arithmetic),
  even into debt; a bank that goes below zero raises an admin alert;
- mail is queued in the same transaction: the buyer's receipt when (and only when) a payment is
  credited, and every admin alert to the admins.
"""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from helpdesk import events
from helpdesk.billing.models import (
    PAYMENT_EXPIRED,
    PAYMENT_FAILED,
    PAYMENT_PAID,
    PAYMENT_PARTIALLY_REFUNDED,
    PAYMENT_PENDING,
    PAYMENT_REFUNDED,
    BillingAlert,
    Payment,
    StripeEvent,
)
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import KIND_PURCHASE, KIND_REVERSAL
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

OUTCOME_DUPLICATE = "duplicate: already received"


def process_event(event, raw_payload):
    """Store the event and apply it once. Returns a short outcome text (also stored)."""
    event_id = str(event["id"])[:255]
    if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)) is not None:
        return OUTCOME_DUPLICATE
    record = StripeEvent(event_id=event_id, type=str(event["type"])[:100], payload=raw_payload)
    try:
        with db.session.begin_nested():  # a concurrent twin waits here, then fails on the unique id
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        return OUTCOME_DUPLICATE
    handler = HANDLERS.get(record.type)
    obj = (event.get("data") or {}).get("object") or {}
    outcome = handler(obj) if handler else "ignored: unhandled type"
    record.processed_at = utcnow()
    record.outcome = outcome[:200]
    db.session.flush()
    return outcome


def lock_payment(payment_id):
    """The payment row, locked until the transaction ends (column-only SELECT FOR UPDATE), re-read."""
    db.session.execute(select(Payment.id).where(Payment.id == payment_id).with_for_update()).one()
    return db.session.get(Payment, payment_id, populate_existing=True)


def _payment_for_session(session):
    session_id = session.get("id")
    if not session_id:
        return None
    payment_id = db.session.scalar(select(Payment.id).where(Payment.stripe_session_id == session_id))
    return lock_payment(payment_id) if payment_id is not None else None


ALERT_SUBJECTS = {
    "unknown_session": "a paid checkout matches no payment",
    "amount_mismatch": "a checkout was paid with the wrong amount",
    "refund_unmatched": "a card refund matches no payment",
    "refund_debt": "a card refund put a bank in debt",
}


def alert(kind, message, payment=None, account_id=None):
    """Record something an admin must look at, and mail it to the admins."""
    item = BillingAlert(
        kind=kind,
        message=message[:500],
        payment_id=payment.id if payment is not None else None,
        account_id=account_id if account_id is not None else (payment.account_id if payment else None),
    )
    db.session.add(item)
    db.session.flush()
    subject = f"Billing: {ALERT_SUBJECTS.get(kind, kind.replace('_', ' '))}"
    events.billing_alert_raised.send(alert=item, subject=subject)
    return item


def _on_session_paid(session):
    payment = _payment_for_session(session)
    if payment is None:
        if session.get("payment_status") == "paid":  # money taken for a checkout we have no record of
            alert(
                "unknown_session",
                f"Stripe reports session {session.get('id')} paid, but no payment here matches it "
                f"(metadata: {session.get('metadata')}). Nothing was credited.",
            )
        return "ignored: unknown session"
    if session.get("payment_intent") and not payment.payment_intent_id:
        payment.payment_intent_id = str(session["payment_intent"])[:255]
    if payment.credited_at is not None:
        return f"no change: payment {payment.id} already credited"
    if session.get("payment_status") != "paid":
        return f"waiting: payment {payment.id} is {session.get('payment_status')}"
    total, currency = session.get("amount_total"), (session.get("currency") or "").lower()
    if total != payment.amount or currency != payment.currency:
        alert(
            "amount_mismatch",
            f"Session {payment.stripe_session_id} was paid as {total} {currency}, expected "
            f"{payment.amount} {payment.currency}; payment {payment.id} was not credited.",
            payment,
        )
        return f"refused: amount mismatch on payment {payment.id}"
    return _credit(payment)


def _credit(payment):
    session_id = payment.stripe_session_id
    credits.post_entry(
        payment.account_id,
        payment.credits,
        KIND_PURCHASE,
        idempotency_key=f"purchase:{session_id}",
        payment_ref=session_id,
        memo=f"Card purchase: {payment.pack.name} (payment #{payment.id})",
    )
    payment.status = PAYMENT_PAID
    payment.credited_at = utcnow()
    db.session.flush()
    events.payment_credited.send(payment=payment)
    return f"credited: payment {payment.id}, {payment.credits} credits"


def _on_session_failed(session):
    return _close_pending(session, PAYMENT_FAILED)


def _on_session_expired(session):
    return _close_pending(session, PAYMENT_EXPIRED)


def _close_pending(session, status):
    payment = _payment_for_session(session)
    if payment is None:
        return "ignored: unknown session"
    if payment.credited_at is not None or payment.status != PAYMENT_PENDING:
        return f"no change: payment {payment.id} is {payment.status}"
    payment.status = status
    db.session.flush()
    return f"{status}: payment {payment.id}"


def _payment_for_charge(charge):
    conditions = []
    if charge.get("payment_intent"):
        conditions.append(Payment.payment_intent_id == str(charge["payment_intent"]))
    if charge.get("id"):
        conditions.append(Payment.charge_id == str(charge["id"]))
    for condition in conditions:
        payment_id = db.session.scalar(select(Payment.id).where(condition))
        if payment_id is not None:
            return lock_payment(payment_id)
    return None


def reversal_due(payment, amount_refunded):
    """Credits to reverse in total for a cumulative refund: credits * refunded / amount, rounded down."""
    refunded = max(0, min(int(amount_refunded), payment.amount))
    return payment.credits * refunded // payment.amount, refunded


def _on_charge_refunded(charge):
    payment = _payment_for_charge(charge)
    if payment is None:
        alert(
            "refund_unmatched",
            f"Stripe refunded {charge.get('amount_refunded')} on charge {charge.get('id')} "
            f"(payment intent {charge.get('payment_intent')}), which matches no payment here; "
            "no credits were reversed.",
        )
        return "ignored: unknown charge"
    if charge.get("id"):
        payment.charge_id = str(charge["id"])[:255]
    target, refunded = reversal_due(payment, charge.get("amount_refunded") or 0)
    if refunded <= payment.amount_refunded:
        return f"no change: payment {payment.id} refund already recorded"
    payment.amount_refunded = refunded
    payment.refunded_at = utcnow()
    if payment.credited_at is None:  # never credited: nothing to take back
        db.session.flush()
        return f"recorded: refund of uncredited payment {payment.id}"
    payment.status = PAYMENT_REFUNDED if refunded >= payment.amount else PAYMENT_PARTIALLY_REFUNDED
    due = target - payment.credits_reversed
    if due > 0:
        entry, _created = credits.post_entry(
            payment.account_id,
            -due,
            KIND_REVERSAL,
            idempotency_key=f"reversal:{payment.stripe_session_id}:{refunded}",
            payment_ref=payment.stripe_session_id,
            memo=f"Card refund of {refunded} {payment.currency} on payment #{payment.id}",
            allow_below_floor=True,
        )
        payment.credits_reversed = target
        if entry.balance_after < 0:
            alert(
                "refund_debt",
                f"Refund on payment #{payment.id} reversed {due} credits that were already spent; "
                f"the bank of {payment.account.owner_name} is now at {entry.balance_after}.",
                payment,
            )
    db.session.flush()
    return f"reversed: payment {payment.id}, {due} credits"


HANDLERS = {
    "checkout.session.completed": _on_session_paid,
    "checkout.session.async_payment_succeeded": _on_session_paid,
    "checkout.session.async_payment_failed": _on_session_failed,
    "checkout.session.expired": _on_session_expired,
    "charge.refunded": _on_charge_refunded,
}
