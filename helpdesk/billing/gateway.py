"""The payment gateway: the only module that imports `stripe` (Checkout Sessions, webhook signatures).

Guarantees:
- a checkout session is created with an idempotency key, so a repeated request makes one session;
- a webhook is acted on only when its signature over the raw bytes verifies (tolerance 300 s);
- the demo provider signs its events with the same scheme (`sign_demo_payload`), so they go
  through the same path as Stripe's.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass

import stripe
from flask import current_app

from helpdesk.billing.models import PROVIDER_DEMO, PROVIDER_STRIPE
from helpdesk.errors import DomainError

SIGNATURE_TOLERANCE = 300  # seconds, Stripe's default


class PaymentsUnavailable(DomainError):
    """Card payments are not set up (no Stripe keys and no demo provider)."""


class GatewayError(DomainError):
    """Stripe refused or could not be reached; nothing was charged."""


class InvalidWebhook(DomainError):
    """A webhook whose signature or payload does not verify; it changes nothing."""


def provider():
    """'stripe' when a secret key is configured, 'demo' when the demo provider is on, else None."""
    config = current_app.config
    if config.get("STRIPE_SECRET_KEY"):
        return PROVIDER_STRIPE
    if config.get("DEMO_PAYMENTS"):
        return PROVIDER_DEMO
    return None


def _client():
    config = current_app.config
    options = {"max_network_retries": 0}
    if config.get("STRIPE_API_BASE"):
        options["base_addresses"] = {"api": config["STRIPE_API_BASE"]}
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], **options)


def create_checkout_session(*, pack, account, customer, idempotency_key, success_url, cancel_url):
    """A Stripe Checkout Session (mode payment) for one pack, priced from our own pack row.

    Returns (session_id, url). The same idempotency key returns the same session from Stripe.
    """
    refs = {"account_id": str(account.id), "pack_id": str(pack.id), "user_id": str(customer.id)}
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": pack.currency,
                    "unit_amount": pack.price,
                    "product_data": {"name": pack.label},
                },
            }
        ],
        "client_reference_id": f"account-{account.id}_pack-{pack.id}_user-{customer.id}",
        "metadata": refs,
        "payment_intent_data": {"metadata": refs},
        "customer_email": customer.email,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    return _create_session(params, idempotency_key)


def create_subscription_checkout(
    *, price_id, customer, stripe_customer_id, refs, idempotency_key, return_urls
):
    """A Stripe Checkout Session (mode subscription) for one plan's price. `refs` (our ids) go into
    the session's and the subscription's metadata, so its invoices name our subscription too.

    Returns (session_id, url); the same idempotency key returns the same session from Stripe.
    """
    success_url, cancel_url = return_urls
    params = {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "client_reference_id": refs["subscription_ref"][:200],
        "metadata": refs,
        "subscription_data": {"metadata": refs},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if stripe_customer_id:
        params["customer"] = stripe_customer_id
    else:
        params["customer_email"] = customer.email
    return _create_session(params, idempotency_key)


def _create_session(params, idempotency_key):
    try:
        session = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as exc:
        current_app.logger.warning("Stripe refused a %s checkout session: %s", params["mode"], exc)
        raise GatewayError(
            "The card payment service is unavailable; nothing was charged. Try again."
        ) from exc
    return session.id, session.url


def create_setup_checkout(*, customer, stripe_customer_id, currency, refs, idempotency_key, return_urls):
    """A Stripe Checkout Session (mode setup) that saves a card for later off-session payments.
    `refs` go into the SetupIntent's metadata, so setup_intent.succeeded names our top-up.

    Returns (session_id, url); the same idempotency key returns the same session from Stripe.
    """
    success_url, cancel_url = return_urls
    params = {
        "mode": "setup",
        "currency": currency,
        "client_reference_id": refs["top_up"],
        "metadata": refs,
        "setup_intent_data": {"metadata": refs},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if stripe_customer_id:
        params["customer"] = stripe_customer_id
    else:
        params |= {"customer_creation": "always", "customer_email": customer.email}
    return _create_session(params, idempotency_key)


@dataclass(frozen=True)
class OffSessionResult:
    """What Stripe said to an off-session payment: the intent's id, and for a refused card its
    error code (`authentication_required`, `card_declined`, ...) and message."""

    intent_id: str | None
    failure_code: str | None = None
    message: str = ""

    @property
    def ok(self):
        return self.failure_code is None


def charge_off_session(*, customer, payment_method, amount, currency, refs, idempotency_key, description):
    """Charge a saved card without the customer (a PaymentIntent, off_session and confirmed).

    The same idempotency key returns the same PaymentIntent (or the same refusal): a retry after a
    crash never charges twice. Raises GatewayError when Stripe could not be reached or failed
    (try again later); a refused card is a result, not an error.
    """
    params = {
        "amount": amount,
        "currency": currency,
        "customer": customer,
        "payment_method": payment_method,
        "off_session": True,
        "confirm": True,
        "metadata": refs,
        "description": description,
    }
    try:
        intent = _client().v1.payment_intents.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.CardError as exc:
        intent = getattr(exc.error, "payment_intent", None)  # the refused PaymentIntent, if Stripe made one
        return OffSessionResult(getattr(intent, "id", None), exc.code or "card_error", exc.user_message or "")
    except stripe.StripeError as exc:
        current_app.logger.warning("Stripe refused or missed an off-session payment: %s", exc)
        raise GatewayError("The card payment service is unavailable.") from exc
    return OffSessionResult(intent.id)


def create_portal_session(stripe_customer_id, return_url):
    """The address of Stripe's customer portal for one customer (card, invoices, cancelling)."""
    try:
        session = _client().v1.billing_portal.sessions.create(
            params={"customer": stripe_customer_id, "return_url": return_url}
        )
    except stripe.StripeError as exc:
        current_app.logger.warning("Stripe refused a billing portal session: %s", exc)
        raise GatewayError("The card payment service is unavailable. Try again in a moment.") from exc
    return session.url


def demo_session_id(idempotency_key):
    """A stable fake session id for the demo provider (same key, same id)."""
    return "demo_cs_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def webhook_secret():
    """STRIPE_WEBHOOK_SECRET; in demo mode without it, a secret derived from SECRET_KEY."""
    config = current_app.config
    if config.get("STRIPE_WEBHOOK_SECRET"):
        return config["STRIPE_WEBHOOK_SECRET"]
    if provider() == PROVIDER_DEMO:
        return _demo_secret()
    return None


def _demo_secret():
    key = current_app.config["SECRET_KEY"].encode()
    return "whsec_demo_" + hmac.new(key, b"demo-webhook", hashlib.sha256).hexdigest()


def verify_event(payload, signature_header, secret):
    """The event dict if `signature_header` signs the raw `payload` bytes with `secret`."""
    if not secret or not signature_header:
        raise InvalidWebhook("missing signature or webhook secret")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature_header, secret, tolerance=SIGNATURE_TOLERANCE
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:  # bad bytes, JSON or signature
        raise InvalidWebhook("signature did not verify, or the body is not JSON") from exc
    if not isinstance(event, dict):
        raise InvalidWebhook("not an event")
    return event


def sign_demo_payload(payload):
    """The Stripe-Signature header for a demo event (demo provider only)."""
    if provider() != PROVIDER_DEMO:
        raise PaymentsUnavailable("The demo payment provider is off.")
    return stripe.WebhookSignature.generate_signature_header(payload, webhook_secret())
