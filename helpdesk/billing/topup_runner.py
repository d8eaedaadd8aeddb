"""Charging automatic top-ups: the off-session card payment, outside any charging transaction.

Guarantees:
- a top-up recorded by a debit's transaction is charged after that transaction has committed: at
  the end of the web request that committed it, and by `flask billing sweep` for whatever is left
  (a crash, Stripe unreachable);
- an attempt is leased (`claimed_until`, attempts counted) under the payment's row lock and that
  claim is committed before Stripe is called, so two runners never call Stripe for one top-up at
  once, and the call itself holds no database lock;
- every attempt for one top-up sends the same idempotency key (the top-up's, one per crossing), so
  Stripe makes one PaymentIntent however often it is retried: a crash after Stripe charged, a
  timeout or two runners never charge twice. Stripe keeps keys for 24 hours, so a top-up still
  unfinished after GIVE_UP is not retried but failed with an admin alert (if Stripe did charge,
  its `payment_intent.succeeded` event still credits it);
- a refused card fails the top-up once (topups.fail); Stripe unreachable leaves it for a later
  run, at most MAX_ATTEMPTS times; a rule turned off meanwhile cancels it (topups.withdraw);
- the credits come only from Stripe's event (or, offline, the demo provider's signed stand-in).
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from helpdesk.actions import perform
from helpdesk.billing import demo_provider, gateway, topups
from helpdesk.billing.alerts import alert
from helpdesk.billing.models import KIND_TOP_UP, PAYMENT_FAILED, PAYMENT_PENDING, PROVIDER_DEMO, Payment
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

LEASE = timedelta(minutes=5)  # an attempt's claim; a runner that died is retried after it
GIVE_UP = timedelta(hours=23)  # inside Stripe's 24 hours of idempotency
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Call:
    """One off-session payment to make, as plain values (no database object crosses the call)."""

    payment_id: int
    provider: str
    customer: str
    payment_method: str
    amount: int
    currency: str
    idempotency_key: str
    refs: dict
    description: str


def _lock(payment_id, wait=False):
    """The top-up's row, locked; None if another runner holds it (PostgreSQL: SKIP LOCKED), unless
    `wait`: then once it lets go."""
    query = select(Payment.id).where(Payment.id == payment_id, Payment.kind == KIND_TOP_UP)
    if db.session.get_bind().dialect.name == "postgresql" and not wait:
        query = query.with_for_update(skip_locked=True)
    else:  # SQLite: writers are serialised by BEGIN IMMEDIATE
        query = query.with_for_update()
    if db.session.scalar(query) is None:
        return None
    return db.session.get(Payment, payment_id, populate_existing=True)


def claim(payment_id, now=None):
    """Lease one attempt at a due top-up. Returns the Call to make, or None (nothing to do now)."""
    now = now or utcnow()
    payment = _lock(payment_id)
    if payment is None or payment.status != PAYMENT_PENDING or payment.payment_intent_id:
        return None
    if payment.claimed_until is not None and payment.claimed_until > now:
        return None
    rule = topups.rule_for(payment.account)
    if rule is None or not rule.has_card:
        topups.fail(payment, "no_saved_card")
        return None
    if not topups.card_usable(rule):  # recorded before its owner lost the right to buy for the bank
        topups.withdraw(payment, "card_owner_may_not_buy")
        return None
    if not rule.enabled:  # turned off since the balance fell (Stripe away meanwhile): they said no
        topups.withdraw(payment, "turned_off")
        return None
    if now - payment.created_at > GIVE_UP or payment.attempts >= MAX_ATTEMPTS:
        _give_up(payment)
        return None
    payment.attempts += 1
    payment.claimed_until = now + LEASE
    db.session.flush()
    return Call(
        payment_id=payment.id,
        provider=payment.provider,
        customer=rule.stripe_customer_id,
        payment_method=rule.payment_method_id,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        refs={
            "top_up": payment.idempotency_key,
            "top_up_payment": str(payment.id),
            "account_id": str(payment.account_id),
        },
        description=f"Automatic top-up: {payment.pack.name} ({payment.credits} credits)",
    )


def _give_up(payment):
    payment.status, payment.failure_code, payment.claimed_until = PAYMENT_FAILED, "gave_up", None
    db.session.flush()
    alert(
        "top_up_failed",
        f"The automatic top-up of {payment.account.owner_name} (payment #{payment.id}) could not be "
        f"completed after {payment.attempts} attempt(s) in {GIVE_UP.total_seconds() / 3600:.0f} hours; "
        "check in Stripe whether it was charged (a charge is credited when its event arrives).",
        payment,
    )


def charge(call):
    """Make the off-session payment: an OffSessionResult, or None when Stripe could not be reached."""
    if call.provider == PROVIDER_DEMO:
        return demo_provider.charge_off_session(call)
    try:
        return gateway.charge_off_session(
            customer=call.customer,
            payment_method=call.payment_method,
            amount=call.amount,
            currency=call.currency,
            refs=call.refs,
            idempotency_key=call.idempotency_key,
            description=call.description,
        )
    except gateway.GatewayError:
        return None


def record(payment_id, result, now=None):
    """Record what the attempt came to: the PaymentIntent, a refused card, or a retry later. Waits
    for the row: another runner that holds it only looks (and finds the lease taken), and skipping
    it would drop what the card did until the lease ran out."""
    now = now or utcnow()
    payment = _lock(payment_id, wait=True)
    if payment is None:
        return None
    if result is None:  # Stripe unreachable: the lease runs out and a later run tries again
        return "retry"
    if result.intent_id:
        payment.payment_intent_id = payment.payment_intent_id or result.intent_id[:255]
    if result.ok:
        payment.claimed_until = None
        db.session.flush()
        return "charged"
    return topups.fail(payment, result.failure_code)


def run(payment_id):
    """Claim, charge and record one top-up, each database step in its own transaction."""
    call = perform(claim, payment_id).value
    if call is None:
        return None
    result = charge(call)
    outcome = perform(record, payment_id, result).value
    if outcome == "charged" and call.provider == PROVIDER_DEMO:
        perform(demo_provider.top_up_succeeded, payment_id)  # what Stripe's event would do
    return outcome


def run_committed():
    """Charge the top-ups that this request's committed transactions recorded (after_request)."""
    for payment_id in topups.committed_top_ups():
        try:
            run(payment_id)
        except Exception:  # the request that crossed the threshold must not fail for it: the sweep retries
            db.session.rollback()
            current_app.logger.exception("automatic top-up %s: attempt failed", payment_id)


def due(now=None):
    """Ids of top-ups waiting for a charge (never attempted, or their lease ran out)."""
    now = now or utcnow()
    return db.session.scalars(
        select(Payment.id)
        .where(
            Payment.kind == KIND_TOP_UP,
            Payment.status == PAYMENT_PENDING,
            Payment.payment_intent_id.is_(None),
            (Payment.claimed_until.is_(None)) | (Payment.claimed_until <= now),
        )
        .order_by(Payment.id)
    ).all()
