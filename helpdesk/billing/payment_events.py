"""Verified payment events turned into ledger entries: each event once, each session credited once.

Guarantees (the view commits):
- only an event whose signature verifies over the raw bytes and whose shape is what its type
  promises is acted on; anything else is refused (400), logged, and changes nothing;
- an event id is processed at most once: its StripeEvent row is inserted in the same transaction
  as its effects, and a second delivery (even a concurrent one) finds it and changes nothing;
- a session credits its bank at most once, whatever the order or number of deliveries: the
  Payment row is locked, re-read and checked, and the ledger key `purchase:<session>` is unique;
- the credited amount comes from our Payment row (copied from our pack), never from the event;
- refunds and disputes that arrived before the checkout completed are applied when it completes
  (billing.charges: the ledger reaches the same balance whatever the order of events);
- mail is queued in the same transaction: the buyer's receipt when (and only when) a payment is
  credited, and every admin alert to the admins.
"""

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from helpdesk.billing import charges, gateway, subscription_events, topups
from helpdesk.billing.alerts import alert
from helpdesk.billing.event_shapes import MalformedEvent, check_event
from helpdesk.billing.models import (
    PAYMENT_EXPIRED,
    PAYMENT_FAILED,
    PAYMENT_PENDING,
    Payment,
    StripeEvent,
)
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

OUTCOME_DUPLICATE = "duplicate: already received"


def receive_webhook(payload, signature_header):
    """Verify and process one delivery. Returns the outcome; raises a DomainError (nothing changes)
    for a bad signature or a malformed event, after logging why."""
    try:
        event = gateway.verify_event(payload, signature_header, gateway.webhook_secret())
        return process_event(event, payload.decode("utf-8"))
    except (gateway.InvalidWebhook, MalformedEvent) as exc:
        current_app.logger.warning("Stripe webhook refused: %s", exc)
        raise


def process_event(event, raw_payload):
    """Store the event and apply it once. Returns a short outcome text (also stored)."""
    obj = check_event(event)
    event_id = event["id"][:255]
    if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)) is not None:
        return OUTCOME_DUPLICATE
    record = StripeEvent(event_id=event_id, type=event["type"][:100], payload=raw_payload)
    try:
        with db.session.begin_nested():  # a concurrent twin waits here, then fails on the unique id
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        return OUTCOME_DUPLICATE
    handler = HANDLERS.get(record.type)
    outcome = handler(obj) if handler else "ignored: unhandled type"
    record.processed_at = utcnow()
    record.outcome = outcome[:200]
    db.session.flush()
    return outcome


def _payment_for_session(session):
    payment_id = db.session.scalar(select(Payment.id).where(Payment.stripe_session_id == session["id"]))
    return charges.lock_payment(payment_id) if payment_id is not None else None


def _on_session_paid(session):
    mode = session.get("mode", "payment")
    if mode != "payment":
        return _session_in_mode(mode, session, completed=True)
    # Locks in the one order (charge, payment, bank): a refund of this charge may arrive meanwhile.
    charge = charges.lock_charge(session["payment_intent"]) if session.get("payment_intent") else None
    payment = _payment_for_session(session)
    if payment is None:
        if session.get("payment_status") == "paid":  # money taken for a checkout we have no record of
            alert(
                "unknown_session",
                f"Stripe reports session {session['id']} paid, but no payment here matches it "
                f"(metadata: {session.get('metadata')}). Nothing was credited.",
            )
        return "ignored: unknown session"
    if charge is not None:
        charges.link(charge, payment)
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
    outcome = charges.credit(payment)
    if payment.amount_refunded or (charge is not None and (charge.amount_refunded or charge.disputes)):
        due, _entry = charges.settle(payment, charge, "Refunds and disputes reported before the payment")
        outcome += f"; {due} credits reversed for earlier refunds or disputes"
    return outcome


def _on_session_failed(session):
    return _close_pending(session, PAYMENT_FAILED)


def _on_session_expired(session):
    return _close_pending(session, PAYMENT_EXPIRED)


def _close_pending(session, status):
    mode = session.get("mode", "payment")
    if mode != "payment":
        return _session_in_mode(mode, session, completed=False)
    payment = _payment_for_session(session)
    if payment is None:
        return "ignored: unknown session"
    if payment.credited_at is not None or payment.status != PAYMENT_PENDING:
        return f"no change: payment {payment.id} is {payment.status}"
    payment.status = status
    db.session.flush()
    return f"{status}: payment {payment.id}"


def _session_in_mode(mode, session, completed):
    """Checkout sessions that sell no pack: subscriptions, and cards saved for automatic top-ups."""
    if mode == "subscription":
        if completed:
            return subscription_events.on_session_completed(session)
        return subscription_events.on_session_expired(session)
    if mode == "setup" and completed:
        return topups.on_setup_session_completed(session)
    return f"ignored: {mode} session"


HANDLERS = {
    "checkout.session.completed": _on_session_paid,
    "checkout.session.async_payment_succeeded": _on_session_paid,
    "checkout.session.async_payment_failed": _on_session_failed,
    "checkout.session.expired": _on_session_expired,
    "charge.refunded": charges.on_charge_refunded,
    "charge.dispute.funds_withdrawn": charges.on_dispute_event("funds_withdrawn"),
    "charge.dispute.funds_reinstated": charges.on_dispute_event("funds_reinstated"),
    "charge.dispute.closed": charges.on_dispute_event("closed"),
    "invoice.paid": subscription_events.on_invoice_paid,
    "invoice.payment_failed": subscription_events.on_invoice_failed,
    "customer.subscription.deleted": subscription_events.on_subscription_deleted,
    "setup_intent.succeeded": topups.on_setup_intent_succeeded,
    "payment_intent.succeeded": topups.on_payment_intent_succeeded,
    "payment_intent.payment_failed": topups.on_payment_intent_failed,
}
