"""Buying credit packs: which bank a purchase goes to, starting checkouts, packs and payment lists.

Guarantees:
- a checkout is priced from our own CreditPack row and recorded as a pending Payment;
- the same form nonce for the same bank and pack gives one Payment and one Stripe session;
- a checkout never credits anything: only a verified payment event does (billing_events).
"""

import hashlib
import secrets

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import policy
from ..errors import DomainError, NotAllowed, ValidationFailed
from ..extensions import db
from ..models import CreditAccount, CreditPack, Payment, ServicePlan, User, utcnow
from ..models.billing import PAYMENT_PENDING, PROVIDER_DEMO, BillingAlert
from . import payments

BANK_PERSONAL = "personal"
BANK_ORGANIZATION = "organization"


def new_nonce():
    return secrets.token_urlsafe(24)


def default_plan():
    """The plan new banks start on (the one marked default)."""
    plan = db.session.scalar(select(ServicePlan).where(ServicePlan.is_default).order_by(ServicePlan.id))
    if plan is None:
        raise DomainError("Credits are not set up yet (no default service plan). Please contact support.")
    return plan


def _account_of(**owner):
    return db.session.scalar(select(CreditAccount).filter_by(**owner))


def purchase_bank(user, bank=BANK_PERSONAL):
    """The bank a purchase by (or for) `user` credits, created on the default plan if missing.

    An organization manager buying for the organization gets its shared bank; anyone else their own.
    """
    if bank == BANK_ORGANIZATION:
        if not policy.can_buy_for_organization(user):
            raise NotAllowed("Only your organization's manager can buy credits for its shared bank.")
        owner = {"organization_id": user.organization_id}
    else:
        owner = {"user_id": user.id}
    account = _account_of(**owner)
    if account is not None:
        return account
    plan = default_plan()
    try:
        with db.session.begin_nested():  # a concurrent first purchase may create it at the same time
            account = CreditAccount(plan_id=plan.id, **owner)
            db.session.add(account)
            db.session.flush()
    except IntegrityError:
        account = _account_of(**owner)
    return account


def banks_of(user):
    """[(label, bank choice, account or None)] the user may buy for, their own first."""
    rows = [("Your bank", BANK_PERSONAL, _account_of(user_id=user.id))]
    if policy.can_buy_for_organization(user):
        org = user.organization
        rows.append((f"{org.name} (shared bank)", BANK_ORGANIZATION, _account_of(organization_id=org.id)))
    return rows


def active_packs():
    return db.session.scalars(
        select(CreditPack).where(CreditPack.active).order_by(CreditPack.price, CreditPack.id)
    ).all()


def checkout_key(account, pack, nonce):
    """The idempotency key of one buy button press (double clicks share it)."""
    digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    return f"checkout:{account.id}:{pack.id}:{digest}"


def start_checkout(customer, pack_id, nonce, *, actor, bank=BANK_PERSONAL, return_urls):
    """Start (or find again) the checkout for one pack. Returns the pending or finished Payment.

    `actor` is the customer, or an admin taking a phone order (the link is queued for e-mail).
    `return_urls` is (success_url, cancel_url) for Stripe ({CHECKOUT_SESSION_ID} allowed).
    """
    if actor.id != customer.id and not policy.can_manage_billing(actor):
        raise NotAllowed("You may only buy credits for yourself.")
    if not policy.can_buy_credits(customer):
        raise NotAllowed("Credit packs are bought by customers.")
    kind = payments.provider()
    if kind is None:
        raise payments.PaymentsUnavailable("Card payments are not set up on this help desk.")
    pack = db.session.get(CreditPack, pack_id)
    if pack is None or not pack.active:
        raise ValidationFailed("That credit pack is no longer on sale.")
    account = purchase_bank(customer, bank)
    key = checkout_key(account, pack, nonce)
    existing = db.session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if existing is not None:
        return existing
    if kind == PROVIDER_DEMO:
        session_id, url = payments.demo_session_id(key), None
    else:
        success_url, cancel_url = return_urls
        session_id, url = payments.create_checkout_session(
            pack=pack,
            account=account,
            customer=customer,
            idempotency_key=key,
            success_url=success_url,
            cancel_url=cancel_url,
        )
    payment = Payment(
        account_id=account.id,
        pack_id=pack.id,
        user_id=customer.id,
        started_by_id=actor.id if actor.id != customer.id else None,
        provider=kind,
        credits=pack.credits,
        amount=pack.price,
        currency=pack.currency,
        status=PAYMENT_PENDING,
        stripe_session_id=session_id,
        checkout_url=url,
        idempotency_key=key,
    )
    if actor.id != customer.id:
        payment.link_email_to, payment.link_email_status = customer.email, "queued"
    try:
        with db.session.begin_nested():  # a concurrent double click: Stripe gave it the same session
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:
        return db.session.scalar(select(Payment).where(Payment.idempotency_key == key))
    return payment


def customer_by_email(email):
    """The active customer with this e-mail address (for an admin's phone order)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None or not user.active or not user.is_customer:
        raise ValidationFailed("No active customer has that e-mail address.")
    return user


def payment_by_session(session_id):
    return db.session.scalar(select(Payment).where(Payment.stripe_session_id == session_id))


def payments_for(user):
    """A SELECT of the payments `user` may see (newest first), for the billing page's history."""
    return select(Payment).where(policy.payment_visibility(user)).order_by(Payment.id.desc())


def admin_payments(status=None):
    query = select(Payment).order_by(Payment.id.desc())
    if status:
        query = query.where(Payment.status == status)
    return query


def checkout_wait_state(payment, now=None):
    """'credited', 'crediting' (keep polling), 'pending' (slow: stop polling) or the final status."""
    if payment.credited_at is not None:
        return "credited"
    if payment.status != PAYMENT_PENDING:
        return payment.status
    waited = ((now or utcnow()) - payment.created_at).total_seconds()
    return "crediting" if waited < current_app.config.get("CHECKOUT_POLL_SECONDS", 600) else "pending"


# Packs (admin)


def save_pack(pack, *, name, credits, price, currency, active):
    """Create (pack=None) or update a pack; names are unique. Past payments keep their own copy."""
    name = name.strip()
    clash = db.session.scalar(select(CreditPack.id).where(func.lower(CreditPack.name) == name.lower()))
    if clash is not None and (pack is None or clash != pack.id):
        raise ValidationFailed("Another pack already has that name.")
    if credits <= 0 or price <= 0:
        raise ValidationFailed("Credits and price must be positive.")
    pack = pack or CreditPack()
    pack.name, pack.credits, pack.price = name, credits, price
    pack.currency, pack.active = currency.lower(), active
    db.session.add(pack)
    db.session.flush()
    return pack


def delete_pack(pack):
    """Delete a pack nobody has bought; a pack with payments can only be deactivated."""
    if db.session.scalar(select(Payment.id).where(Payment.pack_id == pack.id).limit(1)) is not None:
        raise ValidationFailed("This pack has payments; deactivate it instead.")
    db.session.delete(pack)
    db.session.flush()


# Alerts (admin)


def open_alerts():
    return select(BillingAlert).where(BillingAlert.resolved_at.is_(None)).order_by(BillingAlert.id.desc())


def open_alert_count():
    return db.session.scalar(select(func.count(BillingAlert.id)).where(BillingAlert.resolved_at.is_(None)))


def resolve_alert(alert_id, actor):
    """Mark an alert as dealt with (idempotent)."""
    item = db.session.get(BillingAlert, alert_id)
    if item is None:
        raise ValidationFailed("No such alert.")
    if item.resolved_at is None:
        item.resolved_at, item.resolved_by_id = utcnow(), actor.id
        db.session.flush()
    return item
