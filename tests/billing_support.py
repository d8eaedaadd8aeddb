"""Billing test helpers: a default plan, packs, payments, and webhook events signed the Stripe way."""

import json
import time
import uuid

import stripe

from helpdesk.billing.models import CreditPack, Payment
from helpdesk.credits.models import CreditAccount, ServicePlan
from helpdesk.extensions import db

WEBHOOK_SECRET = "whsec_test_secret_for_billing"


def default_plan():
    plan = ServicePlan(name="Pay as you go", credits_enabled=True, is_default=True)
    db.session.add(plan)
    db.session.commit()
    return plan


def pack(name="Starter", credits=500, price=5000, currency="usd", active=True):
    item = CreditPack(name=name, credits=credits, price=price, currency=currency, active=active)
    db.session.add(item)
    db.session.commit()
    return item


def bank(plan, user=None, organization=None, balance=0):
    account = CreditAccount(
        plan_id=plan.id,
        user_id=user.id if user else None,
        organization_id=organization.id if organization else None,
    )
    db.session.add(account)
    db.session.commit()
    if balance:
        from helpdesk.credits import ledger as credits

        credits.post_entry(account.id, balance, "adjustment", idempotency_key=f"seed:{account.id}")
        db.session.commit()
    return account


def payment(account, pack_, user, session_id=None, **kw):
    """A pending card payment as a checkout leaves it."""
    session_id = session_id or f"cs_test_{uuid.uuid4().hex[:16]}"
    item = Payment(
        account_id=account.id,
        pack_id=pack_.id,
        user_id=user.id,
        credits=pack_.credits,
        amount=pack_.price,
        currency=pack_.currency,
        stripe_session_id=session_id,
        checkout_url=f"https://checkout.stripe.test/{session_id}",
        idempotency_key=f"checkout:test:{session_id}",
        **kw,
    )
    db.session.add(item)
    db.session.commit()
    return item


def session_event(payment_, event_type="checkout.session.completed", payment_status="paid", **overrides):
    session = {
        "id": payment_.stripe_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "amount_total": payment_.amount,
        "currency": payment_.currency,
        "payment_intent": f"pi_{payment_.stripe_session_id}",
        "payment_status": payment_status,
        "metadata": {"account_id": str(payment_.account_id), "pack_id": str(payment_.pack_id)},
    }
    session.update(overrides)
    return _event(event_type, session)


def refund_event(payment_, amount_refunded):
    charge = {
        "id": f"ch_{payment_.stripe_session_id}",
        "object": "charge",
        "amount": payment_.amount,
        "amount_refunded": amount_refunded,
        "payment_intent": f"pi_{payment_.stripe_session_id}",
        "refunded": amount_refunded >= payment_.amount,
    }
    return _event("charge.refunded", charge)


def dispute_event(payment_, kind, amount=None, dispute_id=None, status="needs_response"):
    """charge.dispute.<kind> (funds_withdrawn, funds_reinstated, closed) for the payment's charge."""
    dispute = {
        "id": dispute_id or f"dp_{payment_.stripe_session_id}",
        "object": "dispute",
        "amount": payment_.amount if amount is None else amount,
        "currency": payment_.currency,
        "charge": f"ch_{payment_.stripe_session_id}",
        "payment_intent": f"pi_{payment_.stripe_session_id}",
        "reason": "fraudulent",
        "status": status,
    }
    return _event(f"charge.dispute.{kind}", dispute)


def _event(event_type, obj):
    return {
        "id": f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def signed_headers(payload, secret=WEBHOOK_SECRET, timestamp=None):
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def deliver(client, event, secret=WEBHOOK_SECRET, timestamp=None):
    """POST the event to the webhook as Stripe would: raw JSON body, signed header."""
    payload = json.dumps(event)
    return client.post(
        "/billing/webhook", data=payload, headers=signed_headers(payload, secret, timestamp=timestamp)
    )
