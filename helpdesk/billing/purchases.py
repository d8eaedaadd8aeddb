"""Buying credit packs: which bank a purchase goes to, starting checkouts, packs and payment lists.

Guarantees:
- a purchase credits the bank its customer spends from (credits.account_for): their own, or their
  organization's shared bank, which only the organization's manager buys for; a customer without
  a bank gets one opened by the credit service on the default plan; a bank whose plan does not
  use credits is never sold credits;
- a checkout is priced from our own CreditPack row and recorded as a pending Payment;
- the same form nonce for the same bank and pack gives one Payment and one Stripe session;
- a phone order's payment link is queued for e-mail to the customer with the Payment;
- a checkout never credits anything: only a verified payment event does (payment_events).
"""

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import String, cast, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError

from helpdesk import events, policy
from helpdesk.accounts.models import User
from helpdesk.billing import gateway as payments
from helpdesk.billing.models import (
    PAYMENT_PENDING,
    PROVIDER_DEMO,
    BillingAlert,
    CreditPack,
    Payment,
    PlanSubscription,
    SubscriptionInvoice,
)
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import ledger as credits
from helpdesk.credits import plans as credit_settings
from helpdesk.credits.models import CreditAccount, LedgerEntry, ServicePlan
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.web import public_url

NOT_A_CUSTOMER = "Credit packs are bought by customers; admins can take a phone order for a customer."
NOT_SET_UP = "Credits are not set up on this help desk yet. Please contact support."


def new_nonce():
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class PurchaseTarget:
    """The bank a customer's purchase would credit, and why it may not (`refusal`; None: it may).

    `account` is None when the customer has no bank yet: buying opens one on `plan`.
    """

    account: CreditAccount | None
    plan: ServicePlan | None
    label: str
    refusal: str | None

    @property
    def balance(self):
        return self.account.balance if self.account is not None else 0


def purchase_target(customer, viewer=None):
    """Where `customer`'s purchase goes and whether it may go there (messages worded for `viewer`,
    the customer by default, or an admin taking a phone order)."""
    own = viewer is None or viewer.id == customer.id
    if not policy.can_buy_credits(customer):
        return PurchaseTarget(None, None, "", NOT_A_CUSTOMER)
    account = credits.account_for(customer)
    if account is not None and account.organization_id:
        label = f"{account.owner_name}'s shared bank"
        if not policy.can_buy_for_bank(customer, account):
            return PurchaseTarget(account, account.plan, label, _member_refusal(account, customer, own))
    else:
        label = "Your bank" if own else f"{customer.name}'s bank"
    plan = account.plan if account is not None else credits.default_plan()
    if plan is None:
        return PurchaseTarget(account, None, label, NOT_SET_UP)
    if not plan.credits_enabled:
        whose = label if account is not None else ("Your account" if own else customer.name)
        refusal = (
            f"{whose} is on the {plan.name} plan, which does not use credits, so there are none to buy."
            " Contact support to move to a plan with credits."
        )
        return PurchaseTarget(account, plan, label, refusal)
    return PurchaseTarget(account, plan, label, None)


def _member_refusal(account, customer, own):
    managers = [u.name for u in credit_alerts.bank_users(account) if u.is_org_manager and u.active]
    whose = "Your tickets are" if own else f"{customer.name}'s tickets are"
    ask = f" (ask {', '.join(managers)})" if managers else ""
    return (
        f"{whose} paid from {account.owner_name}'s shared bank, and only the organization's manager"
        f" buys credits for it{ask}."
    )


def purchase_bank(customer, actor=None):
    """The bank a purchase for `customer` credits; a customer without one gets it opened on the
    default plan (with that plan's sign-up grant). Raises NotAllowed with the reason otherwise."""
    target = purchase_target(customer, viewer=actor)
    if target.refusal:
        raise NotAllowed(target.refusal)
    if target.account is not None:
        return target.account
    return credits.open_account(target.plan, user=customer, actor=actor or customer)


def active_packs():
    return db.session.scalars(
        select(CreditPack).where(CreditPack.active).order_by(CreditPack.price, CreditPack.id)
    ).all()


def checkout_key(account, pack, nonce):
    """The idempotency key of one buy button press (double clicks share it)."""
    digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    return f"checkout:{account.id}:{pack.id}:{digest}"


def start_checkout(customer, pack_id, nonce, *, actor, return_urls):
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
    account = purchase_bank(customer, actor)
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
    try:
        with db.session.begin_nested():  # a concurrent double click: Stripe gave it the same session
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:
        return db.session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if actor.id != customer.id:
        _mail_payment_link(payment, customer, actor)
    return payment


def _mail_payment_link(payment, customer, actor):
    """A phone order's link goes to the customer by e-mail, once, with the Payment row."""
    url = public_url("billing.pay_link", payment_id=payment.id)
    sent = events.payment_link_created.send(payment=payment, customer=customer, actor=actor, url=url)
    rows = [row for result in sent for row in result or ()]
    payment.link_email_to = customer.email
    payment.link_email_status = "queued" if rows else "not sent"
    db.session.flush()


def customer_by_email(email):
    """The active customer with this e-mail address (for an admin's phone order)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None or not user.active or not user.is_customer:
        raise ValidationFailed("No active customer has that e-mail address.")
    return user


def payment_by_session(session_id):
    return db.session.scalar(select(Payment).where(Payment.stripe_session_id == session_id))


@dataclass(frozen=True)
class InvoiceLine:
    """A paid subscription invoice in the payment history: the allowance it granted (`credits`)."""

    invoice: SubscriptionInvoice
    subscription: PlanSubscription
    credits: int


def history_for(user):
    """A SELECT of what `user` has paid by card, newest first, for the billing page's history: the
    packs they may see and their subscriptions' paid invoices, one key per row ('payment:<id>' or
    'invoice:<id>'; `history_items` loads them)."""
    payments = select(
        Payment.created_at.label("at"), literal("payment").label("kind"), Payment.id.label("id")
    ).where(policy.payment_visibility(user))
    invoices = (
        select(
            SubscriptionInvoice.paid_at.label("at"),
            literal("invoice").label("kind"),
            SubscriptionInvoice.id.label("id"),
        )
        .join(PlanSubscription, PlanSubscription.id == SubscriptionInvoice.subscription_id)
        .where(SubscriptionInvoice.paid_at.is_not(None), policy.invoice_visibility(user))
    )
    rows = union_all(payments, invoices).subquery()
    key = rows.c.kind + literal(":") + cast(rows.c.id, String)
    return select(key).order_by(rows.c.at.desc(), rows.c.kind, rows.c.id.desc())


def history_items(keys):
    """The Payments and InvoiceLines that `history_for`'s keys name, in the keys' order."""
    ids = {"payment": [], "invoice": []}
    for kind, _, row_id in (k.partition(":") for k in keys):
        ids[kind].append(int(row_id))
    found = {
        f"payment:{p.id}": p
        for p in db.session.scalars(select(Payment).where(Payment.id.in_(ids["payment"])))
    }
    invoices = db.session.execute(
        select(SubscriptionInvoice, PlanSubscription)
        .join(PlanSubscription, PlanSubscription.id == SubscriptionInvoice.subscription_id)
        .where(SubscriptionInvoice.id.in_(ids["invoice"]))
    ).all()
    granted = dict(
        db.session.execute(
            select(LedgerEntry.idempotency_key, LedgerEntry.amount).where(
                LedgerEntry.idempotency_key.in_([invoice_grant_key(s, i) for i, s in invoices])
            )
        ).all()
    )
    for invoice, subscription in invoices:
        credits_granted = granted.get(invoice_grant_key(subscription, invoice), 0)
        found[f"invoice:{invoice.id}"] = InvoiceLine(invoice, subscription, credits_granted)
    return [found[k] for k in keys if k in found]


def invoice_grant_key(subscription, invoice):
    """The ledger key of the allowance a paid invoice granted (`allowances.grant_invoice_allowance`)."""
    return f"allowance:{subscription.account_id}:invoice:{invoice.invoice_id}"[:200]


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


PACK_FIELDS = ("name", "credits", "price", "currency", "active")


def save_pack(pack, *, name, credits, price, currency, active, actor=None, seen=None):
    """Create (pack=None) or update a pack; names are unique. Past payments keep their own copy.
    Each changed field of an existing pack is recorded with `actor` (credits' settings trail,
    subject "pack"); `seen`: the settings_version the edit form was opened at (StaleSettings,
    nothing saved, when the pack was changed since; None: not checked)."""
    if pack is not None:
        credit_settings.check_seen(pack, "pack", seen)
    name = name.strip()
    clash = db.session.scalar(select(CreditPack.id).where(func.lower(CreditPack.name) == name.lower()))
    if clash is not None and (pack is None or clash != pack.id):
        raise ValidationFailed("Another pack already has that name.")
    if credits <= 0 or price <= 0:
        raise ValidationFailed("Credits and price must be positive.")
    values = {
        "name": name,
        "credits": credits,
        "price": price,
        "currency": currency.lower(),
        "active": active,
    }
    if pack is None:
        pack = CreditPack(**values)
        db.session.add(pack)
    else:
        for field in PACK_FIELDS:
            if getattr(pack, field) != values[field]:
                credit_settings.record_change(
                    actor, "pack", pack.id, field, getattr(pack, field), values[field]
                )
                setattr(pack, field, values[field])
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


def open_alert_count_query():
    return select(func.count(BillingAlert.id)).where(BillingAlert.resolved_at.is_(None))


def open_alert_count():
    return db.session.scalar(open_alert_count_query())


def resolve_alert(alert_id, actor):
    """Mark an alert as dealt with (idempotent)."""
    item = db.session.get(BillingAlert, alert_id)
    if item is None:
        raise ValidationFailed("No such alert.")
    if item.resolved_at is None:
        item.resolved_at, item.resolved_by_id = utcnow(), actor.id
        db.session.flush()
    return item
