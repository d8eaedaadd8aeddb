"""PlanSubscription events: the checkout's completion, paid and failed invoices, cancellation, and the
bank's move to the fallback plan when the paid period ends.

Guarantees (the caller has verified the event; the view or command commits):
- a subscription is found by its Stripe id, or by the reference we put in its metadata, so an
  invoice that arrives before the checkout's completion still finds it; an invoice that matches
  nothing is kept and applied when its subscription is linked;
- `invoice.paid` grants the subscribed plan's allowance exactly once per invoice (for a new
  subscription or a new period): `granted_at` under the subscription's row lock, and the ledger
  key `allowance:<bank>:invoice:<invoice>`;
- the subscriber gets a receipt for each invoice whose allowance is granted (with the grant);
- a failed renewal mails the subscriber and alerts the admins once per invoice;
- `customer.subscription.deleted` moves the bank to the plan's fallback (or the default plan) at
  the end of the last paid period: at once if it has passed, else by `flask billing sweep`;
- while a subscription runs, the bank is on its plan and skipped by the monthly allowance run.
Locks: the Stripe subscription's name (`hold`: events about one Stripe subscription one at a
time, on any server), then the subscription row, then the bank (post_entry).
"""

from datetime import UTC, datetime

from sqlalchemy import or_, select

from helpdesk import events
from helpdesk.billing.alerts import alert
from helpdesk.billing.event_shapes import invoice_period, invoice_subscription, metadata
from helpdesk.billing.models import (
    SUB_ACTIVE,
    SUB_CANCELED,
    SUB_ENDED,
    SUB_EXPIRED,
    SUB_LIVE,
    SUB_PAST_DUE,
    SUB_PENDING,
    PlanPrice,
    PlanSubscription,
    SubscriptionInvoice,
)
from helpdesk.credits import allowances
from helpdesk.credits import ledger as credits
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.querying import lock_name
from helpdesk.web import public_url

GRANTING_REASONS = ("subscription_create", "subscription_cycle")  # a new period begins
REF = "subscription_ref"


def lock_subscription(subscription_id):
    """The subscription row, locked until the transaction ends, re-read."""
    db.session.execute(
        select(PlanSubscription.id).where(PlanSubscription.id == subscription_id).with_for_update()
    ).one()
    return db.session.get(PlanSubscription, subscription_id, populate_existing=True)


def hold(stripe_id):
    """Take the events about one Stripe subscription one at a time, first thing. A first invoice
    that names its subscription only by Stripe's id (older API versions carry no metadata) and the
    checkout's completion that links that id arrive in the same second; without this each looked
    for the other before the other committed, and the paid invoice's allowance was never granted."""
    if stripe_id:
        lock_name(f"stripe-subscription:{stripe_id}")


def find_subscription(*, stripe_id=None, ref=None, session_id=None):
    """Our subscription (locked) by Stripe subscription id, metadata reference or session id."""
    conditions = []
    if stripe_id:
        conditions.append(PlanSubscription.stripe_subscription_id == stripe_id)
    if ref:
        conditions.append(PlanSubscription.idempotency_key == ref)
    if session_id:
        conditions.append(PlanSubscription.stripe_session_id == session_id)
    if not conditions:
        return None
    found = db.session.scalar(select(PlanSubscription.id).where(or_(*conditions)).limit(1))
    return lock_subscription(found) if found is not None else None


def _link(subscription, stripe_id, customer_id):
    if stripe_id and not subscription.stripe_subscription_id:
        subscription.stripe_subscription_id = stripe_id[:255]
    if customer_id and not subscription.stripe_customer_id:
        subscription.stripe_customer_id = customer_id[:255]
    db.session.flush()
    if subscription.stripe_subscription_id:  # invoices that arrived before we knew whose they were
        waiting = db.session.scalars(
            select(SubscriptionInvoice).where(
                SubscriptionInvoice.stripe_subscription_id == subscription.stripe_subscription_id,
                SubscriptionInvoice.subscription_id.is_(None),
            )
        ).all()
        for invoice in waiting:
            invoice.subscription_id = subscription.id
            if invoice.paid_at is not None:
                _activate(subscription)
                _grant(subscription, invoice)


def _activate(subscription):
    """The subscription runs: the bank moves to its plan and takes its allowance from invoices."""
    if subscription.status == SUB_PENDING:
        subscription.status = SUB_ACTIVE
    if subscription.ended_at is not None:
        return
    account = credits.lock_account(subscription.account_id)
    others = db.session.scalar(
        select(PlanSubscription.id).where(
            PlanSubscription.account_id == account.id,
            PlanSubscription.id != subscription.id,
            PlanSubscription.status.in_(SUB_LIVE),
        )
    )
    if others is not None:
        alert(
            "subscription_twice",
            f"The bank of {account.owner_name} now has two running subscriptions (#{others} and "
            f"#{subscription.id}); cancel one in Stripe.",
            account_id=account.id,
        )
    credits.move_to_plan(account, subscription.plan, None)
    allowances.set_allowance_invoiced(account, True)


def on_session_completed(session):
    """checkout.session.completed in subscription mode: link the Stripe ids and start it."""
    hold(session.get("subscription"))
    subscription = find_subscription(session_id=session["id"], ref=metadata(session).get(REF))
    if subscription is None:
        alert(
            "subscription_unmatched",
            f"PlanSubscription checkout {session['id']} matches no subscription here.",
        )
        return "ignored: unknown subscription checkout"
    if session.get("payment_status") in ("paid", "no_payment_required"):
        _activate(subscription)
    _link(subscription, session.get("subscription"), session.get("customer"))
    return f"subscription {subscription.id}: {subscription.status}"


def on_session_expired(session):
    subscription = find_subscription(session_id=session["id"])
    if subscription is None or subscription.status != SUB_PENDING:
        return "no change: subscription checkout expired"
    subscription.status = SUB_EXPIRED
    db.session.flush()
    return f"subscription {subscription.id}: expired"


def _timestamp(seconds):
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _invoice_row(obj):
    """The invoice's row, created on first sight, with what this event says about it."""
    row = db.session.scalar(select(SubscriptionInvoice).where(SubscriptionInvoice.invoice_id == obj["id"]))
    if row is None:
        row = SubscriptionInvoice(invoice_id=obj["id"][:255])
        db.session.add(row)
    stripe_id, _meta = invoice_subscription(obj)
    start, end = invoice_period(obj)
    row.stripe_subscription_id = row.stripe_subscription_id or (stripe_id or "")[:255] or None
    row.billing_reason = (obj.get("billing_reason") or row.billing_reason or "")[:50]
    row.amount_paid = obj.get("amount_paid") or row.amount_paid or 0
    row.currency = (obj.get("currency") or row.currency or "")[:3]
    row.period_start = row.period_start or _timestamp(start)
    row.period_end = row.period_end or _timestamp(end)
    db.session.flush()
    return row


def _invoice_subscription(row, obj):
    stripe_id, meta = invoice_subscription(obj)
    subscription = find_subscription(stripe_id=stripe_id, ref=meta.get(REF))
    if subscription is not None:
        row.subscription_id = subscription.id
        _link(subscription, stripe_id, obj.get("customer"))
    return subscription


def on_invoice_paid(obj):
    """invoice.paid: the period is paid for; grant its allowance once."""
    hold(invoice_subscription(obj)[0])
    row = _invoice_row(obj)
    row.paid_at = row.paid_at or utcnow()
    subscription = _invoice_subscription(row, obj)
    if subscription is None:
        alert(
            "invoice_unmatched",
            f"Invoice {obj['id']} (subscription {row.stripe_subscription_id}) was paid but matches no "
            "subscription here yet; its allowance is granted if that subscription turns up.",
        )
        return f"kept: invoice {row.invoice_id}"
    _activate(subscription)
    if subscription.status == SUB_PAST_DUE:
        subscription.status = SUB_ACTIVE
    granted = _grant(subscription, row)
    return f"invoice {row.invoice_id}: " + (
        f"{granted} credits granted" if granted is not None else "no grant"
    )


def _grant(subscription, row):
    """Grant the invoice's allowance once (new subscription or new period); the paid period counts
    towards when a cancelled subscription ends. Returns the credits granted, or None."""
    if row.period_end and (subscription.paid_until is None or row.period_end > subscription.paid_until):
        subscription.paid_until = row.period_end
        if (
            subscription.status == SUB_CANCELED
            and subscription.ends_at
            and row.period_end > subscription.ends_at
        ):
            subscription.ends_at = row.period_end  # a paid invoice came in after the cancellation
    if row.granted_at is not None or row.billing_reason not in GRANTING_REASONS:
        db.session.flush()
        return None
    period = (row.period_start or utcnow()).astimezone(UTC).strftime("%Y-%m")
    entry = allowances.grant_invoice_allowance(
        subscription.account_id, subscription.plan, row.invoice_id, period
    )
    row.granted_at = utcnow()
    db.session.flush()
    granted = entry.amount if entry is not None else 0
    events.subscription_invoice_paid.send(invoice=row, subscription=subscription, credits=granted)
    return granted


def on_invoice_failed(obj):
    """invoice.payment_failed: tell the subscriber and the admins, once per invoice."""
    hold(invoice_subscription(obj)[0])
    row = _invoice_row(obj)
    row.failed_at = utcnow()
    subscription = _invoice_subscription(row, obj)
    if subscription is None:
        alert(
            "invoice_unmatched",
            f"A payment of invoice {obj['id']} (subscription {row.stripe_subscription_id}) failed; it "
            "matches no subscription here.",
        )
        return f"kept: failed invoice {row.invoice_id}"
    # A failed attempt of an invoice that is paid by now (Stripe retried the card, and the retry's
    # invoice.paid came first: events arrive out of order) is no failed renewal.
    if subscription.status == SUB_ACTIVE and row.paid_at is None:
        subscription.status = SUB_PAST_DUE
    if row.failure_notified_at is not None or row.paid_at is not None:
        db.session.flush()
        return f"no change: invoice {row.invoice_id} failure already told"
    row.failure_notified_at = utcnow()
    db.session.flush()
    events.subscription_renewal_failed.send(subscription=subscription, url=public_url("billing.index"))
    alert(
        "renewal_failed",
        f"The card payment of {subscription.plan.name} for the bank of {subscription.account.owner_name} "
        f"failed (invoice {row.invoice_id}); Stripe retries it, and the subscriber was asked to update "
        "the card.",
        account_id=subscription.account_id,
    )
    return f"invoice {row.invoice_id}: failure told"


def on_subscription_deleted(obj):
    """customer.subscription.deleted: the bank keeps the plan to the end of the paid period."""
    hold(obj["id"])
    subscription = find_subscription(stripe_id=obj["id"], ref=metadata(obj).get(REF))
    if subscription is None:
        alert(
            "subscription_unmatched",
            f"Stripe subscription {obj['id']} ended; it matches no subscription here.",
        )
        return "ignored: unknown subscription"
    _link(subscription, obj["id"], obj.get("customer"))
    if subscription.status in (SUB_CANCELED, SUB_ENDED):
        return f"no change: subscription {subscription.id} is {subscription.status}"
    now = utcnow()
    subscription.status = SUB_CANCELED
    subscription.ends_at = max(subscription.paid_until or now, now)
    db.session.flush()
    lapse(subscription, now)
    return (
        f"subscription {subscription.id}: {subscription.status} until {subscription.ends_at:%Y-%m-%d %H:%M}"
    )


def fallback_plan(subscription):
    """The plan the admin named for when this plan's subscription ends, else the default plan."""
    price = db.session.get(PlanPrice, subscription.plan_id)
    if price is not None and price.fallback_plan is not None:
        return price.fallback_plan
    return credits.default_plan()


def lapse(subscription, now=None):
    """A cancelled subscription whose paid period is over moves its bank to the fallback plan."""
    now = now or utcnow()
    if subscription.status != SUB_CANCELED or subscription.ends_at is None or subscription.ends_at > now:
        return False
    account = credits.lock_account(subscription.account_id)
    target = fallback_plan(subscription)
    if target is not None and account.plan_id == subscription.plan_id:  # an admin may have moved it already
        credits.move_to_plan(account, target, None)
    still_running = db.session.scalar(
        select(PlanSubscription.id).where(
            PlanSubscription.account_id == account.id, PlanSubscription.status.in_(SUB_LIVE)
        )
    )
    if still_running is None:
        allowances.set_allowance_invoiced(account, False)
    subscription.status, subscription.ended_at = SUB_ENDED, now
    db.session.flush()
    return True


def due_lapses(now=None):
    """Ids of cancelled subscriptions whose paid period is over (for `flask billing sweep`)."""
    return db.session.scalars(
        select(PlanSubscription.id).where(
            PlanSubscription.status == SUB_CANCELED, PlanSubscription.ends_at <= (now or utcnow())
        )
    ).all()
