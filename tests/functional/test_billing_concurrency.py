"""Concurrent webhook deliveries for one session credit once (PostgreSQL: real row locks)."""

import threading
import time

import pytest
import stripe
from sqlalchemy import func, select

from helpdesk.billing import subscription_events
from helpdesk.billing.models import Payment, PlanSubscription, StripeEvent
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditAccount, LedgerEntry
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from tests import billing_support as bs
from tests.credit_helpers import bank, plan

# committing: each delivery runs in its own thread and connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


@pytest.fixture(autouse=True)
def stripe_config(app, monkeypatch):
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", bs.WEBHOOK_SECRET)


def deliver_all_at_once(app, events):
    """Each event from its own thread and client, released together; returns the status codes."""
    db.session.commit()  # the set-up, for the threads' own sessions
    barrier = threading.Barrier(len(events))
    codes = []

    def send(event):
        client = app.test_client()
        barrier.wait()
        codes.append(bs.deliver(client, event).status_code)

    threads = [threading.Thread(target=send, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return codes


@pytest.fixture
def pending(make):
    plan = bs.default_plan()
    customer = make.customer()
    account = bs.bank(plan, user=customer)
    return bs.payment(account, bs.pack(credits=500, price=5000), customer)


def test_concurrent_different_events_for_one_session_credit_once(app, pending):
    events = [bs.session_event(pending) for _ in range(3)]
    events += [bs.session_event(pending, "checkout.session.async_payment_succeeded") for _ in range(3)]
    codes = deliver_all_at_once(app, events)
    db.session.expire_all()
    assert codes == [200] * 6
    assert db.session.get(CreditAccount, pending.account_id).balance == 500
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
    assert db.session.get(Payment, pending.id).status == "paid"
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 6
    assert credits.ledger_mismatches() == []
    receipts = select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "purchase_receipt")
    assert db.session.scalar(receipts) == 1


def test_the_same_event_delivered_concurrently_is_processed_once(app, pending):
    event = bs.session_event(pending)
    codes = deliver_all_at_once(app, [event] * 5)
    db.session.expire_all()
    assert codes == [200] * 5
    assert db.session.get(CreditAccount, pending.account_id).balance == 500
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 1


def test_concurrent_partial_refunds_reverse_the_refunded_share_once(app, pending, client):
    bs.deliver(client, bs.session_event(pending))
    codes = deliver_all_at_once(app, [bs.refund_event(pending, 2500) for _ in range(4)])
    db.session.expire_all()
    assert codes == [200] * 4
    assert db.session.get(CreditAccount, pending.account_id).balance == 250
    assert credits.ledger_mismatches() == []


def test_a_refund_racing_the_completion_is_applied_once_whichever_wins(app, pending):
    """The completion links the payment intent while the refund looks for it: both lock the charge
    first, so the refund is either found by the completion or finds the payment itself."""
    events = [
        bs.session_event(pending),
        bs.refund_event(pending, 2500),
        bs.dispute_event(pending, "funds_withdrawn", 1000),
    ]
    codes = deliver_all_at_once(app, events)
    db.session.expire_all()
    assert codes == [200] * 3
    assert db.session.get(CreditAccount, pending.account_id).balance == 500 - 350
    assert credits.ledger_mismatches() == [] and credits.running_balance_mismatches() == []


def test_a_first_invoice_without_reference_racing_the_checkout_s_completion_grants_once(
    app, make, ref, monkeypatch
):
    """Stripe sends a new subscription's checkout.session.completed and its first invoice.paid in the
    same second; an invoice of an older API version names the subscription only by Stripe's id,
    which the completion is linking at that moment: whichever wins, the allowance is granted."""
    # Widen the window (each step is quick): the invoice's row waits uncommitted while the
    # completion links the subscription and looks for its invoices, and the link waits
    # uncommitted while the invoice looks for its subscription.
    for name, pause in (("_invoice_row", 0.3), ("_link", 0.6)):
        monkeypatch.setattr(subscription_events, name, _pausing(getattr(subscription_events, name), pause))
    customer = make.customer()
    account = bank("Pay as you go", 0, user=customer)
    subscription = PlanSubscription(
        account_id=account.id,
        plan_id=plan("Business").id,
        user_id=customer.id,
        idempotency_key="subscribe:race:1",
        stripe_session_id="cs_sub_race",
    )
    db.session.add(subscription)
    events = [
        bs.subscription_session_event(subscription),
        bs.invoice_event(subscription, invoice_id="in_race", with_ref=False),
    ]
    codes = deliver_all_at_once(app, events)
    db.session.expire_all()
    assert codes == [200, 200]
    assert db.session.get(CreditAccount, account.id).balance == 1000  # Business: 1,000 a month
    assert db.session.get(PlanSubscription, subscription.id).status == "active"


def _pausing(step, seconds):
    def paused(*args, **kwargs):
        result = step(*args, **kwargs)
        time.sleep(seconds)
        return result

    return paused
