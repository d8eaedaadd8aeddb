"""The offline demo provider: the events Stripe would send, signed and fed through the webhook code.

With DEMO_PAYMENTS on (and no Stripe key) the demo pages stand in for Stripe's: each button builds
the event Stripe would send, signs it like Stripe (gateway.sign_demo_payload) and processes it
through `payment_events.receive_webhook`, so the demo exercises the production path.
"""

import json
import secrets
import time

from flask import current_app

from helpdesk.billing import gateway, payment_events
from helpdesk.billing.gateway import OffSessionResult
from helpdesk.billing.models import Payment
from helpdesk.extensions import db


def deliver(event_type, obj):
    """Sign one event of `event_type` about `obj` and process it as a webhook delivery."""
    event = {
        "id": "evt_demo_" + secrets.token_hex(12),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    payload = json.dumps(event)
    return payment_events.receive_webhook(payload.encode("utf-8"), gateway.sign_demo_payload(payload))


def session_event(payment, event_type):
    """A Checkout event for a demo card payment (Pay: completed and paid; Cancel: expired)."""
    paid = event_type == "checkout.session.completed"
    session = {
        "id": payment.stripe_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "amount_total": payment.amount,
        "currency": payment.currency,
        "client_reference_id": f"account-{payment.account_id}_pack-{payment.pack_id}_user-{payment.user_id}",
        "metadata": {"account_id": str(payment.account_id), "pack_id": str(payment.pack_id)},
        "payment_intent": "demo_pi_" + payment.stripe_session_id[len("demo_cs_") :],
        "payment_status": "paid" if paid else "unpaid",
        "status": "complete" if paid else "expired",
    }
    return deliver(event_type, session)


DEMO_MONTHLY_PRICE = 4900  # what every demo plan's price costs a month, in CURRENCY's minor units


def subscription_price(subscription):
    """(amount in minor units, currency) a month: what Stripe would read from the plan's price,
    which the demo provider has none of, so every demo subscription costs DEMO_MONTHLY_PRICE."""
    return DEMO_MONTHLY_PRICE, current_app.config.get("CURRENCY", "usd").lower()


def _demo_id(prefix, subscription):
    return f"{prefix}{subscription.stripe_session_id[len('demo_cs_') :]}"


def _next_month(moment):
    """The same day and time next month (the 31st becomes the month's last day)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError(moment)


def _invoice(subscription, reason, start):
    end = _next_month(start)
    amount, currency = subscription_price(subscription)
    return {
        "id": "demo_in_" + secrets.token_hex(10),
        "object": "invoice",
        "billing_reason": reason,
        "amount_paid": amount,
        "currency": currency,
        "customer": _demo_id("demo_cus_", subscription),
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": _demo_id("demo_sub_", subscription),
                "metadata": {"subscription_ref": subscription.idempotency_key},
            },
        },
        "lines": {"data": [{"period": {"start": int(start.timestamp()), "end": int(end.timestamp())}}]},
    }


def subscription_checkout(subscription, subscribe, now):
    """The demo checkout of a subscription: Subscribe completes it and pays its first invoice."""
    session = {
        "id": subscription.stripe_session_id,
        "object": "checkout.session",
        "mode": "subscription",
        "metadata": {"subscription_ref": subscription.idempotency_key},
        "payment_status": "paid" if subscribe else "unpaid",
        "status": "complete" if subscribe else "expired",
    }
    if not subscribe:
        return deliver("checkout.session.expired", session)
    session |= {
        "subscription": _demo_id("demo_sub_", subscription),
        "customer": _demo_id("demo_cus_", subscription),
    }
    outcome = deliver("checkout.session.completed", session)
    deliver("invoice.paid", _invoice(subscription, "subscription_create", now))
    return outcome


def subscription_renewal(subscription, paid, now):
    """The demo portal's "a month passes": the next invoice is paid, or its payment fails."""
    invoice = _invoice(subscription, "subscription_cycle", max(subscription.paid_until or now, now))
    return deliver("invoice.paid" if paid else "invoice.payment_failed", invoice)


def subscription_cancelled(subscription):
    """The demo portal's Cancel: Stripe ends the subscription (the paid period still runs out)."""
    obj = {
        "id": _demo_id("demo_sub_", subscription),
        "object": "subscription",
        "customer": _demo_id("demo_cus_", subscription),
        "status": "canceled",
        "metadata": {"subscription_ref": subscription.idempotency_key},
    }
    return deliver("customer.subscription.deleted", obj)


DEMO_CARDS = {  # the demo card setup page's choices: what an off-session payment with each does
    "demo_pm_ok": None,
    "demo_pm_authentication": ("authentication_required", "This payment requires authentication."),
    "demo_pm_declined": ("card_declined", "Your card was declined."),
}


def card_saved(rule, card):
    """The demo card setup: Stripe's events for a completed setup checkout and its saved card."""
    customer = f"demo_cus_{rule.account_id}"
    session = {
        "id": rule.setup_session_id,
        "object": "checkout.session",
        "mode": "setup",
        "status": "complete",
        "customer": customer,
        "metadata": {"top_up": str(rule.id)},
    }
    deliver("checkout.session.completed", session)
    intent = {
        "id": "demo_seti_" + secrets.token_hex(8),
        "object": "setup_intent",
        "status": "succeeded",
        "customer": customer,
        "payment_method": card,
        "metadata": {"top_up": str(rule.id), "setup_ref": rule.setup_key},
    }
    return deliver("setup_intent.succeeded", intent)


def charge_off_session(call):
    """The demo's off-session payment: the saved demo card pays, needs authentication or is declined."""
    intent_id = f"demo_pi_top_up_{call.payment_id}"
    refusal = DEMO_CARDS.get(call.payment_method, ("card_declined", "Unknown demo card."))
    if refusal is None:
        return OffSessionResult(intent_id)
    return OffSessionResult(intent_id, *refusal)


def top_up_succeeded(payment_id):
    """What Stripe sends when an off-session top-up is paid: payment_intent.succeeded."""
    payment = db.session.get(Payment, payment_id)
    intent = {
        "id": payment.payment_intent_id,
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": "succeeded",
        "metadata": {"top_up": payment.idempotency_key, "top_up_payment": str(payment.id)},
    }
    return deliver("payment_intent.succeeded", intent)
