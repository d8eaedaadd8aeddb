"""The offline demo provider: the events Stripe would send, signed and fed through the webhook code.

With DEMO_PAYMENTS on (and no Stripe key) the demo pages stand in for Stripe's: each button builds
the event Stripe would send, signs it like Stripe (gateway.sign_demo_payload) and processes it
through `payment_events.receive_webhook`, so the demo exercises the production path.
"""

import json
import secrets
import time

from helpdesk.billing import gateway, payment_events


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
