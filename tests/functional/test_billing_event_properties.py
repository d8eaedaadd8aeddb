"""Property tests of the webhook: one payment's events in every order, with duplicates, end in the same
balance and ledger; and no signed event, however mangled, answers 500."""

import copy
import itertools
import uuid

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from helpdesk.billing.models import AutoTopUp, CreditPack, Payment, PlanSubscription
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditAccount, LedgerEntry
from helpdesk.extensions import db
from tests import billing_support as bs

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_numbers = itertools.count()


@pytest.fixture(autouse=True)
def stripe_config(app, monkeypatch):
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", bs.WEBHOOK_SECRET)


@pytest.fixture
def plan():
    return bs.default_plan()


def new_payment(make, plan, credits_, price):
    customer = make.customer()
    account = bs.bank(plan, user=customer)
    pack = CreditPack(name=f"Pack {next(_numbers)}", credits=credits_, price=price, currency="usd")
    db.session.add(pack)
    db.session.commit()
    return bs.payment(account, pack, customer)


@st.composite
def stories(draw):
    """One payment's life as Stripe would tell it, and what it must come to."""
    price = draw(st.integers(min_value=100, max_value=100_000))
    story = {
        "credits": draw(st.integers(min_value=1, max_value=5_000)),
        "price": price,
        "path": draw(st.sampled_from(["card", "async_succeeded", "async_failed"])),
        "refunds": [],
        "dispute": None,
    }
    if story["path"] != "async_failed":
        if draw(st.booleans()):
            story["refunds"].append(draw(st.integers(min_value=1, max_value=price - 1)))  # partial
        if draw(st.booleans()):
            story["refunds"].append(price)  # then in full
        if draw(st.booleans()):
            story["dispute"] = (draw(st.integers(min_value=1, max_value=price)), draw(st.booleans()))
    return story


def events_of(payment, story):
    """The story's events in the order they happened."""
    if story["path"] == "card":
        events = [bs.session_event(payment)]
    else:
        events = [bs.session_event(payment, payment_status="unpaid")]
        succeeded = story["path"] == "async_succeeded"
        kind = "checkout.session.async_payment_" + ("succeeded" if succeeded else "failed")
        events.append(bs.session_event(payment, kind, "paid" if succeeded else "unpaid"))
    events += [bs.refund_event(payment, amount) for amount in story["refunds"]]
    if story["dispute"]:
        amount, won = story["dispute"]
        events.append(bs.dispute_event(payment, "funds_withdrawn", amount))
        if won:
            events.append(bs.dispute_event(payment, "funds_reinstated", amount, status="won"))
        events.append(bs.dispute_event(payment, "closed", amount, status="won" if won else "lost"))
    return events


def expected(story):
    """(balance, ledger totals by kind, status, amount refunded) the story must end in."""
    if story["path"] == "async_failed":
        return 0, {}, "failed", 0
    refunded = max(story["refunds"], default=0)
    amount, won = story["dispute"] or (0, True)
    taken = min(story["price"], refunded + (0 if won else amount))
    reversed_ = story["credits"] * taken // story["price"]
    status = "refunded" if refunded >= story["price"] else "partially_refunded" if refunded else "paid"
    totals = {"purchase": story["credits"], "reversal": -reversed_}
    return story["credits"] - reversed_, nonzero(totals), status, refunded


def nonzero(totals):
    """Ledger totals by kind, leaving out kinds that net to nothing (a dispute lost and won back)."""
    return {kind: total for kind, total in totals.items() if total}


def outcome(payment):
    db.session.expire_all()
    row = db.session.get(Payment, payment.id)
    balance = db.session.scalar(select(CreditAccount.balance).where(CreditAccount.id == payment.account_id))
    totals = db.session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.payment_ref == payment.stripe_session_id)
        .group_by(LedgerEntry.kind)
    ).all()
    return balance, nonzero(dict(totals)), row.status, row.amount_refunded


def redelivered(event, fresh_id):
    """The same event again (Stripe retries), or the same news under a new event id."""
    again = copy.deepcopy(event)
    if fresh_id:
        again["id"] = f"evt_{uuid.uuid4().hex[:20]}"
    return again


@PROPERTY
@given(story=stories(), data=st.data())
def test_every_order_with_duplicates_ends_in_the_same_balance_and_ledger(client, make, plan, story, data):
    payment = new_payment(make, plan, story["credits"], story["price"])
    events = events_of(payment, story)
    repeats = data.draw(st.lists(st.tuples(st.sampled_from(events), st.booleans()), max_size=4))
    deliveries = data.draw(st.permutations(events + [redelivered(e, fresh) for e, fresh in repeats]))
    for event in deliveries:
        assert bs.deliver(client, event).status_code == 200
    assert outcome(payment) == expected(story)
    purchases = select(func.count(LedgerEntry.id)).where(
        LedgerEntry.payment_ref == payment.stripe_session_id, LedgerEntry.kind == "purchase"
    )
    assert db.session.scalar(purchases) == (0 if story["path"] == "async_failed" else 1)
    assert credits.ledger_mismatches() == [] and credits.running_balance_mismatches() == []


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@PROPERTY
@given(data=st.data())
def test_no_signed_event_answers_500_however_its_fields_are_mangled(client, make, plan, data):
    payment = new_payment(make, plan, 500, 5000)
    samples = events_of(payment, {"path": "card", "refunds": [1000], "dispute": (500, True)})
    samples.append(bs.session_event(payment, "checkout.session.expired", "unpaid"))
    subscription = PlanSubscription(
        account_id=payment.account_id,
        plan_id=plan.id,
        user_id=payment.user_id,
        idempotency_key=f"subscribe:fuzz:{uuid.uuid4().hex}",
        stripe_session_id=f"cs_sub_{uuid.uuid4().hex[:12]}",
    )
    db.session.add(subscription)
    db.session.commit()
    stripe_id = f"sub_{uuid.uuid4().hex[:12]}"
    samples += [
        bs.subscription_session_event(subscription, stripe_id),
        bs.invoice_event(subscription, stripe_id=stripe_id),
        bs.invoice_event(subscription, "invoice.payment_failed", "subscription_cycle", stripe_id=stripe_id),
        bs.subscription_deleted_event(subscription, stripe_id),
        *_top_up_events(payment),
    ]
    event = copy.deepcopy(data.draw(st.sampled_from(samples)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        targets = [
            d for d in (event, event.get("data"), *_inner(_object(event))) if isinstance(d, dict) and d
        ]
        target = data.draw(st.sampled_from(targets))
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.booleans()):
            target.pop(key)
        else:
            target[key] = data.draw(JSON_VALUES)
    assert bs.deliver(client, event).status_code in (200, 400)


def _top_up_events(payment):
    """A saved card's and an off-session payment's events, for a rule and a top-up of the payment's bank."""
    rule = AutoTopUp(
        account_id=payment.account_id, user_id=payment.user_id, pack_id=payment.pack_id, threshold=100
    )
    db.session.add(rule)
    db.session.flush()
    intent_id = f"pi_top_up_{uuid.uuid4().hex[:12]}"
    top_up = Payment(
        account_id=payment.account_id,
        pack_id=payment.pack_id,
        user_id=payment.user_id,
        kind="top_up",
        credits=payment.credits,
        amount=payment.amount,
        currency="usd",
        payment_intent_id=intent_id,
        idempotency_key=f"top-up:fuzz:{intent_id}",
    )
    db.session.add(top_up)
    db.session.commit()
    intent = {"id": intent_id, "object": "payment_intent", "amount": top_up.amount, "currency": "usd"}
    intent["metadata"] = {"top_up": top_up.idempotency_key, "top_up_payment": str(top_up.id)}
    setup = {"id": "seti_1", "object": "setup_intent", "customer": "cus_1", "payment_method": bs.CARD_OK}
    setup["metadata"] = {"top_up": str(rule.id)}
    return [
        bs._event("setup_intent.succeeded", setup),
        bs._event("payment_intent.succeeded", intent),
        bs._event(
            "payment_intent.payment_failed", intent | {"last_payment_error": {"code": "card_declined"}}
        ),
    ]


def _object(event):
    return event["data"].get("object") if isinstance(event.get("data"), dict) else None


def _inner(obj):
    """The object and the dicts nested in it (an invoice's parent, lines and their periods)."""
    found = [obj]
    for value in obj.values() if isinstance(obj, dict) else ():
        if isinstance(value, dict):
            found += _inner(value)
        elif isinstance(value, list):
            for item in value:
                found += _inner(item)
    return found
