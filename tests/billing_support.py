"""Billing test helpers: a local fake Stripe API, a default plan, packs, payments, and webhook events
signed the Stripe way."""

import json
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs

import stripe
from werkzeug import Response

from helpdesk.billing.models import AutoTopUp, CreditPack, Payment
from helpdesk.credits.models import CreditAccount, ServicePlan
from helpdesk.extensions import db

WEBHOOK_SECRET = "whsec_test_secret_for_billing"
# Test payment methods, named like Stripe's test cards: what an off-session payment with each does.
CARD_OK = "pm_card_visa"
CARD_NEEDS_AUTHENTICATION = "pm_card_authenticationRequired"
CARD_DECLINED = "pm_card_chargeDeclined"
CARD_ERRORS = {
    CARD_NEEDS_AUTHENTICATION: ("authentication_required", "This payment requires authentication."),
    CARD_DECLINED: ("card_declined", "Your card was declined."),
}


class FakeStripe:
    """The Stripe API on a local pytest-httpserver, answering the real `stripe` library:

    - POST /v1/checkout/sessions in payment, subscription and setup mode (the same idempotency key
      returns the same session, as Stripe does);
    - POST /v1/billing_portal/sessions (the customer portal);
    - POST /v1/payment_intents, off-session and confirmed: CARD_OK succeeds, the others fail with
      a 402 card error (`authentication_required`, `card_declined`) carrying the payment intent;
      the same idempotency key returns the same intent (or the same error).
    Every request is kept in `requests` ({"path", "form", "headers"}); `down = True` answers 500.
    """

    def __init__(self, httpserver):
        self.requests, self.sessions, self.intents, self.down = [], {}, {}, False
        routes = {
            "/v1/checkout/sessions": self._session,
            "/v1/billing_portal/sessions": self._portal,
            "/v1/payment_intents": self._payment_intent,
        }
        for path, handler in routes.items():
            httpserver.expect_request(path, method="POST").respond_with_handler(self._recorded(path, handler))
        self.base = httpserver.url_for("").rstrip("/")

    def of(self, path):
        return [r for r in self.requests if r["path"] == path]

    def _recorded(self, path, handler):
        def respond(request):
            form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
            self.requests.append({"path": path, "form": form, "headers": dict(request.headers)})
            if self.down:
                return _json({"error": {"type": "api_error", "message": "Stripe is down."}}, 500)
            return handler(form, request.headers.get("Idempotency-Key"))

        return respond

    def _session(self, form, key):
        if key not in self.sessions:
            number = len(self.sessions) + 1
            amount = form.get("line_items[0][price_data][unit_amount]")
            self.sessions[key] = {
                "id": f"cs_test_{number}",
                "object": "checkout.session",
                "mode": form.get("mode"),
                "url": f"https://checkout.stripe.test/pay/cs_test_{number}",
                "amount_total": int(amount) if amount else None,
                "customer": form.get("customer"),
                "metadata": {},
            }
        return _json(self.sessions[key])

    def _portal(self, form, key):
        customer = form["customer"]
        session = {"id": f"bps_{customer}", "object": "billing_portal.session", "customer": customer}
        return _json(session | {"url": f"https://billing.stripe.test/p/session/{customer}"})

    def _payment_intent(self, form, key):
        if key not in self.intents:
            number = len(self.intents) + 1
            method = form.get("payment_method")
            intent = {
                "id": f"pi_test_{number}",
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "currency": form["currency"],
                "customer": form.get("customer"),
                "payment_method": method,
                "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                "status": "succeeded",
            }
            if method in CARD_ERRORS:
                code, message = CARD_ERRORS[method]
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {"code": code, "message": message}
                body = {"type": "card_error", "code": code, "message": message, "payment_intent": intent}
                self.intents[key] = (_json({"error": body}, 402), intent)
            else:
                self.intents[key] = (_json(intent), intent)
        response, _intent = self.intents[key]
        return Response(response.get_data(), status=response.status_code, content_type="application/json")


def _json(body, status=200):
    return Response(json.dumps(body), status=status, content_type="application/json")


def use_fake_stripe(app, httpserver, monkeypatch):
    """Point the app's Stripe at a FakeStripe on `httpserver` (keys and webhook secret set)."""
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake = FakeStripe(httpserver)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.base)
    return fake


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


def auto_top_up(account, user, pack_, *, provider="demo", customer="demo_cus_1", card="demo_pm_ok"):
    """An automatic top-up of `pack_` when `account` falls to 200 credits, its card saved (flushed)."""
    rule = AutoTopUp(
        account_id=account.id,
        user_id=user.id,
        pack_id=pack_.id,
        threshold=200,
        provider=provider,
        stripe_customer_id=customer,
        payment_method_id=card,
    )
    db.session.add(rule)
    db.session.flush()
    return rule


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


def subscription_session_event(subscription, stripe_id="sub_test_1", customer="cus_test_1", **overrides):
    """checkout.session.completed of a subscription checkout (Stripe's ids for it given)."""
    session = {
        "id": subscription.stripe_session_id,
        "object": "checkout.session",
        "mode": "subscription",
        "payment_status": "paid",
        "status": "complete",
        "subscription": stripe_id,
        "customer": customer,
        "metadata": {"subscription_ref": subscription.idempotency_key},
    }
    return _event("checkout.session.completed", session | overrides)


def unix(moment):
    return int(moment.timestamp())


def invoice_event(
    subscription,
    event_type="invoice.paid",
    reason="subscription_create",
    start=datetime(2026, 12, 2, tzinfo=UTC),
    end=datetime(2027, 1, 2, tzinfo=UTC),
    invoice_id=None,
    stripe_id="sub_test_1",
    with_ref=True,
):
    """invoice.paid / invoice.payment_failed for one period of a subscription (current API shape:
    the subscription under parent.subscription_details, the period on the line)."""
    details = {"subscription": stripe_id}
    if with_ref:
        details["metadata"] = {"subscription_ref": subscription.idempotency_key}
    invoice = {
        "id": invoice_id or f"in_{uuid.uuid4().hex[:16]}",
        "object": "invoice",
        "billing_reason": reason,
        "amount_paid": 4900 if event_type == "invoice.paid" else 0,
        "currency": "usd",
        "customer": "cus_test_1",
        "parent": {"type": "subscription_details", "subscription_details": details},
        "lines": {"object": "list", "data": [{"period": {"start": unix(start), "end": unix(end)}}]},
    }
    return _event(event_type, invoice)


def subscription_deleted_event(subscription, stripe_id="sub_test_1"):
    obj = {
        "id": stripe_id,
        "object": "subscription",
        "customer": "cus_test_1",
        "status": "canceled",
        "metadata": {"subscription_ref": subscription.idempotency_key},
    }
    return _event("customer.subscription.deleted", obj)


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
