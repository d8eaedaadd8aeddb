"""Monthly plan subscriptions for customers: what is on offer, starting one, managing it.

Guarantees:
- a plan is offered only when it has a Stripe price, credits and a monthly allowance;
- a subscription is bought for the bank its buyer spends from, by whoever may buy credits for it
  (the same rules as packs, `purchases.purchase_target`); while a bank's subscription runs, no
  second one is started;
- the same form nonce for the same bank and plan gives one PlanSubscription and one Stripe session;
- starting one changes no plan and grants nothing: only Stripe's events do (subscription_events);
- the card and cancelling are managed on Stripe's customer portal (the demo provider's stand-in
  offline), reached only by those who may buy for the bank.
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from helpdesk import policy
from helpdesk.billing import gateway
from helpdesk.billing.models import (
    PROVIDER_DEMO,
    SUB_CANCELED,
    SUB_LIVE,
    SUB_PENDING,
    PlanPrice,
    PlanSubscription,
)
from helpdesk.billing.purchases import purchase_bank, purchase_target
from helpdesk.billing.subscription_events import fallback_plan
from helpdesk.credits import ledger as credit_ledger
from helpdesk.credits import plans as credit_settings
from helpdesk.credits.models import ServicePlan
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import add_unless_twin

SHOWN = (*SUB_LIVE, SUB_CANCELED)  # what the billing page shows as "your subscription"


@dataclass(frozen=True)
class SubscriptionPanel:
    """The billing page's subscription section for one viewer."""

    offers: list  # PlanPrice rows on sale
    current: PlanSubscription | None  # the bank's running (or cancelled, not yet ended) subscription
    fallback: ServicePlan | None  # where the bank goes when `current` ends
    may_manage: bool  # the viewer may subscribe for the bank, manage the card or cancel
    refusal: str | None  # why the viewer may not subscribe, if not


def offers():
    """Plans sold as monthly subscriptions: a Stripe price, credits, a monthly allowance."""
    return db.session.scalars(
        select(PlanPrice)
        .join(ServicePlan, ServicePlan.id == PlanPrice.plan_id)
        .where(
            PlanPrice.stripe_price_id.is_not(None),
            ServicePlan.credits_enabled.is_(True),
            ServicePlan.monthly_allowance > 0,
        )
        .order_by(ServicePlan.monthly_allowance, ServicePlan.id)
    ).all()


def current_subscription(account):
    """The bank's running subscription, or its cancelled one until the paid period ends; else None."""
    if account is None:
        return None
    return db.session.scalar(
        select(PlanSubscription)
        .where(PlanSubscription.account_id == account.id, PlanSubscription.status.in_(SHOWN))
        .order_by(PlanSubscription.id.desc())
        .limit(1)
    )


def joining_warning(user, organization):
    """Receiver of events.customer_joining: a customer whose own bank has a running subscription
    (active, or past due while the card is retried) and who joins an organization with a shared
    bank is told of it: the subscription goes on renewing by card while that bank is no longer
    what their tickets spend. None otherwise."""
    own = credit_ledger.own_bank(user)
    if own is None or credit_ledger.bank_for(organization) is None:
        return None
    running = db.session.scalar(
        select(PlanSubscription)
        .where(PlanSubscription.account_id == own.id, PlanSubscription.status.in_(SUB_LIVE))
        .order_by(PlanSubscription.id.desc())
        .limit(1)
    )
    if running is None:
        return None
    return (
        f"Their own bank has a subscription to {running.plan.name}, which goes on renewing by card "
        f"while {organization.name}'s shared bank pays for their tickets: they can cancel it on "
        "their billing page."
    )


def panel(user):
    """What the billing page shows `user` about subscriptions."""
    target = purchase_target(user)
    current = current_subscription(target.account)
    return SubscriptionPanel(
        offers=offers() if current is None or current.status not in SUB_LIVE else [],
        current=current,
        fallback=fallback_plan(current) if current is not None else None,
        may_manage=target.refusal is None,
        refusal=target.refusal,
    )


def subscription_key(account, plan, nonce):
    """The idempotency key of one subscribe button press (double clicks share it); it is also the
    reference in the Stripe subscription's metadata that ties its events to our row."""
    digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    return f"subscribe:{account.id}:{plan.id}:{digest}"


def start_subscription(customer, plan_id, nonce, *, actor, return_urls):
    """Start (or find again) the subscription checkout for one plan. Returns the PlanSubscription."""
    if actor.id != customer.id:
        raise NotAllowed("Customers subscribe for themselves.")
    kind = gateway.provider()
    if kind is None:
        raise gateway.PaymentsUnavailable("Card payments are not set up on this help desk.")
    price = db.session.get(PlanPrice, plan_id)
    if price is None or price not in offers():
        raise ValidationFailed("That plan is not sold as a subscription.")
    account = purchase_bank(customer, actor)
    key = subscription_key(account, price.plan, nonce)
    existing = db.session.scalar(select(PlanSubscription).where(PlanSubscription.idempotency_key == key))
    if existing is not None:
        return existing
    running = current_subscription(account)
    if running is not None and running.status in SUB_LIVE:
        raise ValidationFailed(f"This bank already subscribes to {running.plan.name}: manage it below.")
    if kind == PROVIDER_DEMO:
        session_id, url = gateway.demo_session_id(key), None
    else:
        refs = {"subscription_ref": key, "account_id": str(account.id), "plan_id": str(price.plan_id)}
        session_id, url = gateway.create_subscription_checkout(
            price_id=price.stripe_price_id,
            customer=customer,
            stripe_customer_id=_known_customer(account),
            refs=refs,
            idempotency_key=key,
            return_urls=return_urls,
        )
    subscription = PlanSubscription(
        account_id=account.id,
        plan_id=price.plan_id,
        user_id=customer.id,
        provider=kind,
        status=SUB_PENDING,
        idempotency_key=key,
        stripe_session_id=session_id,
        checkout_url=url,
    )
    # A double click's twin request (another app server) may insert it meanwhile: Stripe gave it the
    # same session for the same key, so the twin's row is this one.
    subscription, _new = add_unless_twin(
        subscription,
        lambda: db.session.scalar(select(PlanSubscription).where(PlanSubscription.idempotency_key == key)),
    )
    return subscription


def _known_customer(account):
    """The bank's Stripe customer from an earlier subscription, so Stripe keeps one per bank."""
    return db.session.scalar(
        select(PlanSubscription.stripe_customer_id)
        .where(PlanSubscription.account_id == account.id, PlanSubscription.stripe_customer_id.is_not(None))
        .order_by(PlanSubscription.id.desc())
        .limit(1)
    )


def portal_destination(user, return_url):
    """(subscription, Stripe's customer portal address) for the bank whose card and subscription
    `user` may manage; the address is None for the demo provider (its own page stands in)."""
    target = purchase_target(user)
    subscription = current_subscription(target.account)
    if subscription is None or not policy.can_manage_subscription(user, subscription):
        raise NotAllowed("There is no subscription you can manage.")
    if subscription.provider == PROVIDER_DEMO:
        return subscription, None
    if not subscription.stripe_customer_id:
        raise ValidationFailed("Stripe has not confirmed the subscription yet; try again in a minute.")
    return subscription, gateway.create_portal_session(subscription.stripe_customer_id, return_url)


def admin_list():
    """Every subscription, newest first, for the billing admin (a SELECT to paginate)."""
    return select(PlanSubscription).order_by(PlanSubscription.id.desc())


# Plan admin: the subscription price of a plan and its fallback plan.


def plan_price(plan):
    return db.session.get(PlanPrice, plan.id)


def set_plan_price(plan, actor, *, price_id, fallback_plan_id):
    """Sell `plan` as a monthly subscription at the Stripe price `price_id` (None: not sold), and
    name the plan a bank moves to when its subscription ends (None: the default plan)."""
    price_id = (price_id or "").strip() or None
    fallback = db.session.get(ServicePlan, fallback_plan_id) if fallback_plan_id else None
    if fallback_plan_id and fallback is None:
        raise ValidationFailed("Choose one of the plans for when a subscription ends.")
    if fallback is not None and fallback.id == plan.id:
        raise ValidationFailed("A subscription that ends cannot fall back to the same plan.")
    if price_id and not (plan.credits_enabled and plan.monthly_allowance > 0):
        raise ValidationFailed(
            "Only a plan with credits and a monthly allowance can be sold as a subscription."
        )
    row = db.session.get(PlanPrice, plan.id) or PlanPrice(plan_id=plan.id)
    credit_settings.record_plan_change(actor, plan, "subscription_price", row.stripe_price_id, price_id)
    credit_settings.record_plan_change(
        actor, plan, "subscription_fallback", row.fallback_plan_id, fallback.id if fallback else None
    )
    row.stripe_price_id, row.fallback_plan_id = price_id, fallback.id if fallback else None
    db.session.add(row)
    db.session.flush()
    return row
