"""The Stripe webhook: verified signatures only, each event once, each session credited once."""

import json
import time

import pytest
import stripe
from sqlalchemy import func, select

from helpdesk.billing.models import BillingAlert, Payment, StripeEvent
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditAccount, LedgerEntry
from helpdesk.extensions import db
from tests import billing_support as bs


@pytest.fixture(autouse=True)
def stripe_config(app, monkeypatch):
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", bs.WEBHOOK_SECRET)


@pytest.fixture
def setup(make):
    plan = bs.default_plan()
    customer = make.customer()
    account = bs.bank(plan, user=customer)
    pack = bs.pack(credits=500, price=5000)
    return type("Setup", (), {"customer": customer, "account": account, "pack": pack, "plan": plan})


@pytest.fixture
def pending(setup):
    return bs.payment(setup.account, setup.pack, setup.customer)


def balance(account):
    return db.session.scalar(select(CreditAccount.balance).where(CreditAccount.id == account.id))


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_completed_paid_session_credits_the_bank_from_our_pack(client, setup, pending):
    response = bs.deliver(client, bs.session_event(pending))
    assert response.status_code == 200
    assert balance(setup.account) == 500
    payment = db.session.get(Payment, pending.id)
    assert payment.status == "paid" and payment.payment_intent_id == f"pi_{pending.stripe_session_id}"
    entry = db.session.scalar(select(LedgerEntry))
    assert entry.kind == "purchase" and entry.idempotency_key == f"purchase:{pending.stripe_session_id}"
    assert credits.ledger_mismatches() == []


def test_metadata_cannot_change_the_credited_amount(client, setup, pending):
    event = bs.session_event(pending, metadata={"credits": "999999", "pack_id": "12345"})
    bs.deliver(client, event)
    assert balance(setup.account) == 500


def test_amount_paid_different_from_our_price_credits_nothing_and_alerts(client, setup, pending):
    bs.deliver(client, bs.session_event(pending, amount_total=1))
    assert balance(setup.account) == 0
    assert db.session.scalar(select(BillingAlert.kind)) == "amount_mismatch"


def test_completed_but_unpaid_waits_for_the_async_payment(client, setup, pending):
    bs.deliver(client, bs.session_event(pending, payment_status="unpaid"))
    assert balance(setup.account) == 0
    assert db.session.get(Payment, pending.id).status == "pending"
    bs.deliver(client, bs.session_event(pending, "checkout.session.async_payment_succeeded"))
    assert balance(setup.account) == 500


def test_async_payment_failed_marks_the_payment_failed(client, setup, pending):
    bs.deliver(client, bs.session_event(pending, payment_status="unpaid"))
    bs.deliver(client, bs.session_event(pending, "checkout.session.async_payment_failed", "unpaid"))
    assert db.session.get(Payment, pending.id).status == "failed"
    assert balance(setup.account) == 0


def test_same_event_delivered_twice_credits_once(client, setup, pending):
    event = bs.session_event(pending)
    assert bs.deliver(client, event).status_code == 200
    second = bs.deliver(client, event)
    assert second.status_code == 200 and "duplicate" in second.get_json()["outcome"]
    assert balance(setup.account) == 500
    assert count(StripeEvent) == 1


def test_two_events_for_one_session_credit_once(client, setup, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.session_event(pending))  # a different event id, same session
    assert balance(setup.account) == 500
    assert count(LedgerEntry) == 1
    assert count(StripeEvent) == 2


def test_async_success_before_completed_credits_once(client, setup, pending):
    bs.deliver(client, bs.session_event(pending, "checkout.session.async_payment_succeeded"))
    bs.deliver(client, bs.session_event(pending, payment_status="unpaid"))  # late, stale
    assert balance(setup.account) == 500
    assert db.session.get(Payment, pending.id).status == "paid"


def test_expired_session_marks_payment_cancelled_without_credits(client, setup, pending):
    bs.deliver(client, bs.session_event(pending, "checkout.session.expired", "unpaid"))
    assert db.session.get(Payment, pending.id).status == "expired"
    assert balance(setup.account) == 0


def test_expired_after_paid_changes_nothing(client, setup, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.session_event(pending, "checkout.session.expired", "unpaid"))
    assert db.session.get(Payment, pending.id).status == "paid"


def test_unknown_event_type_is_stored_and_ignored(client, setup):
    response = bs.deliver(client, bs._event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200
    stored = db.session.scalar(select(StripeEvent))
    assert stored.type == "customer.created" and stored.outcome.startswith("ignored")
    assert json.loads(stored.payload)["data"]["object"]["id"] == "cus_1"


def test_forged_signature_is_rejected_and_changes_nothing(client, setup, pending):
    response = bs.deliver(client, bs.session_event(pending), secret="whsec_not_ours")
    assert response.status_code == 400
    assert balance(setup.account) == 0 and count(StripeEvent) == 0


def test_tampered_body_is_rejected(client, setup, pending):
    payload = json.dumps(bs.session_event(pending))
    headers = bs.signed_headers(payload)
    tampered = payload.replace('"amount_total": 5000', '"amount_total": 5001')
    assert client.post("/billing/webhook", data=tampered, headers=headers).status_code == 400
    assert count(StripeEvent) == 0


def test_stale_signature_is_rejected(client, setup, pending):
    response = bs.deliver(client, bs.session_event(pending), timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert balance(setup.account) == 0 and count(StripeEvent) == 0


def test_missing_signature_is_rejected(client, setup, pending):
    response = client.post("/billing/webhook", data=json.dumps(bs.session_event(pending)))
    assert response.status_code == 400
    assert count(StripeEvent) == 0


def test_webhook_without_a_configured_secret_rejects_everything(app, client, setup, pending, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", None)
    assert bs.deliver(client, bs.session_event(pending)).status_code == 400
    assert balance(setup.account) == 0


def test_full_refund_reverses_all_credits(client, setup, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.refund_event(pending, 5000))
    payment = db.session.get(Payment, pending.id)
    assert payment.status == "refunded" and payment.credits_reversed == 500
    assert balance(setup.account) == 0
    assert count(BillingAlert) == 0


def test_partial_refunds_reverse_the_refunded_share_cumulatively(client, setup, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.refund_event(pending, 1234))  # 500 * 1234 // 5000 = 123
    assert balance(setup.account) == 377
    assert db.session.get(Payment, pending.id).status == "partially_refunded"
    bs.deliver(client, bs.refund_event(pending, 2500))  # cumulative 250 in total
    assert balance(setup.account) == 250
    bs.deliver(client, bs.refund_event(pending, 2500))  # the same refund again: nothing more
    assert balance(setup.account) == 250
    bs.deliver(client, bs.refund_event(pending, 5000))
    assert balance(setup.account) == 0
    assert db.session.get(Payment, pending.id).status == "refunded"
    assert credits.ledger_mismatches() == []


def test_refund_after_credits_were_spent_goes_into_debt_with_an_alert(client, setup, pending):
    bs.deliver(client, bs.session_event(pending))
    credits.post_entry(setup.account.id, -400, "charge", idempotency_key="spent")
    db.session.commit()
    bs.deliver(client, bs.refund_event(pending, 5000))
    assert balance(setup.account) == -400
    reversal = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "reversal"))
    assert reversal.amount == -500 and reversal.balance_after == -400
    alert = db.session.scalar(select(BillingAlert))
    assert alert.kind == "refund_debt" and alert.payment_id == pending.id and "-400" in alert.message


def test_refund_for_an_unknown_charge_reverses_nothing_and_alerts(client, setup):
    event = bs._event("charge.refunded", {"id": "ch_x", "payment_intent": "pi_x", "amount_refunded": 10})
    response = bs.deliver(client, event)
    assert response.status_code == 200 and "unknown" in response.get_json()["outcome"]
    assert db.session.scalar(select(BillingAlert.kind)) == "refund_unmatched"


def test_a_paid_session_we_have_no_record_of_alerts_admins_and_credits_nothing(client, setup, pending):
    event = bs.session_event(pending, id="cs_test_not_ours")
    assert bs.deliver(client, event).status_code == 200
    assert balance(setup.account) == 0
    assert db.session.scalar(select(BillingAlert.kind)) == "unknown_session"
