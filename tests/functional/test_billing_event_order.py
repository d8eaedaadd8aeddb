"""Stripe events in any order: refunds before the payment completes, disputes, malformed events."""

import json
import logging

import pytest
import stripe
from sqlalchemy import func, select

from helpdesk.billing.models import BillingAlert, CardDispute, Payment, StripeEvent
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
def pending(make):
    plan = bs.default_plan()
    customer = make.customer()
    account = bs.bank(plan, user=customer)
    return bs.payment(account, bs.pack(credits=500, price=5000), customer)


def balance(payment):
    return db.session.scalar(select(CreditAccount.balance).where(CreditAccount.id == payment.account_id))


def payment_row(payment):
    db.session.expire_all()
    return db.session.get(Payment, payment.id)


def open_alerts(kind=None):
    query = select(BillingAlert).where(BillingAlert.resolved_at.is_(None))
    if kind:
        query = query.where(BillingAlert.kind == kind)
    return db.session.scalars(query).all()


def ledger_totals():
    rows = db.session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.kind)
    )
    return dict(rows.all())


# Refunds seen before the payment completes


def test_a_partial_refund_before_completion_is_applied_when_the_payment_completes(client, pending):
    response = bs.deliver(client, bs.refund_event(pending, 1234))
    assert response.status_code == 200 and response.get_json()["outcome"].startswith("kept")
    assert balance(pending) == 0
    assert [a.kind for a in open_alerts()] == ["refund_unmatched"]

    bs.deliver(client, bs.session_event(pending))
    assert balance(pending) == 500 - 123  # 500 * 1234 // 5000 reversed at once
    row = payment_row(pending)
    assert row.status == "partially_refunded" and row.amount_refunded == 1234 and row.credits_reversed == 123
    assert open_alerts() == []  # the refund found its payment: the alert resolved itself
    assert credits.ledger_mismatches() == []


def test_a_full_refund_before_completion_leaves_nothing_credited(client, pending):
    bs.deliver(client, bs.refund_event(pending, 5000))
    bs.deliver(client, bs.session_event(pending))
    assert balance(pending) == 0
    assert payment_row(pending).status == "refunded"
    assert ledger_totals() == {"purchase": 500, "reversal": -500}


def test_a_refund_between_an_unpaid_completion_and_the_async_success_is_applied(client, pending):
    bs.deliver(client, bs.session_event(pending, payment_status="unpaid"))
    bs.deliver(client, bs.refund_event(pending, 2500))
    assert balance(pending) == 0 and payment_row(pending).amount_refunded == 2500
    bs.deliver(client, bs.session_event(pending, "checkout.session.async_payment_succeeded"))
    assert balance(pending) == 250


def test_a_refund_in_two_months_is_reported_in_each(client, login, make, pending):
    # 30.00 of a 50.00 pack refunded in December, the rest in January: the revenue report's
    # December keeps its 30.00 (it showed 0, and January the whole 50.00, rewriting a closed month).
    import time_machine

    from tests.csv_support import spreadsheet_records

    with time_machine.travel("2026-12-10 12:00Z", tick=False):
        bs.deliver(client, bs.session_event(pending))
        bs.deliver(client, bs.refund_event(pending, 3000))
        bs.deliver(client, bs.refund_event(pending, 3000))  # the same report again: nothing new
    with time_machine.travel("2027-01-05 12:00Z", tick=False):
        bs.deliver(client, bs.refund_event(pending, 5000))
        login(make.admin())
        rows = {r["month"]: r for r in spreadsheet_records(client.get("/admin/billing/report.csv"))}
    assert rows["2026-12"]["refunds_minor"] == "3000" and rows["2027-01"]["refunds_minor"] == "2000"
    assert payment_row(pending).amount_refunded == 5000 and balance(pending) == 0


def test_a_dispute_is_reported_in_the_month_its_money_left_and_given_back_in_the_month_it_was_won(
    client, login, make, pending
):
    # 20.00 of a 50.00 pack disputed in December, the dispute won in January: the revenue report
    # had no column for it (the money Stripe withheld showed nowhere).
    import time_machine

    from tests.csv_support import spreadsheet_records

    with time_machine.travel("2026-12-10 12:00Z", tick=False):
        bs.deliver(client, bs.session_event(pending))
        bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn", amount=2000))
        bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn", amount=2000))  # again: nothing new
    with time_machine.travel("2027-01-05 12:00Z", tick=False):
        bs.deliver(client, bs.dispute_event(pending, "funds_reinstated", amount=2000, status="won"))
        login(make.admin())
        rows = {r["month"]: r for r in spreadsheet_records(client.get("/admin/billing/report.csv"))}
        page = client.get("/admin/billing/report").get_data(as_text=True)
    assert rows["2026-12"]["disputes_minor"] == "2000" and rows["2027-01"]["disputes_minor"] == "-2000"
    assert rows["2026-12"]["revenue_minor"] == "5000"
    assert '<th scope="col" class="num">Disputes</th>' in page
    assert "20.00 USD" in page and "-20.00 USD" in page


def test_refunds_out_of_order_keep_the_highest_cumulative_amount(client, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.refund_event(pending, 5000))
    bs.deliver(client, bs.refund_event(pending, 1234))  # an older, smaller cumulative figure
    assert balance(pending) == 0 and payment_row(pending).status == "refunded"


# Disputes


def test_dispute_funds_withdrawn_reverse_the_disputed_share_and_alert_admins(client, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn", amount=2000))
    assert balance(pending) == 300
    (alert,) = open_alerts("dispute")
    assert "dp_" in alert.message and "20.00 USD" in alert.message and alert.payment_id == pending.id
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "reversal"))
    assert entry.amount == -200 and "dispute" in entry.memo.lower()


def test_a_dispute_of_spent_credits_goes_into_debt(client, pending):
    bs.deliver(client, bs.session_event(pending))
    credits.post_entry(pending.account_id, -450, "charge", idempotency_key="spent")
    db.session.commit()
    bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn"))
    assert balance(pending) == -450
    (alert,) = open_alerts("dispute")
    assert "-450" in alert.message and "debt" in alert.message


def test_reinstated_funds_give_the_credits_back(client, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn"))
    assert balance(pending) == 0
    bs.deliver(client, bs.dispute_event(pending, "funds_reinstated", status="won"))
    assert balance(pending) == 500
    assert [e.amount for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))] == [
        500,
        -500,
        500,
    ]
    assert credits.ledger_mismatches() == [] and credits.running_balance_mismatches() == []


def test_reinstated_before_withdrawn_ends_where_the_usual_order_does(client, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.dispute_event(pending, "funds_reinstated", status="won"))
    bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn"))
    assert balance(pending) == 500
    assert len(open_alerts("dispute")) == 1  # one dispute, one alert, whichever event came first


def test_dispute_closed_is_recorded_without_moving_credits(client, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn"))
    response = bs.deliver(client, bs.dispute_event(pending, "closed", status="lost"))
    assert response.status_code == 200
    dispute = db.session.scalar(select(CardDispute))
    assert dispute.status == "lost" and dispute.closed_at is not None
    assert balance(pending) == 0


def test_a_dispute_before_completion_is_applied_when_the_payment_completes(client, pending):
    bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn", amount=1000))
    assert balance(pending) == 0 and len(open_alerts("dispute")) == 1
    bs.deliver(client, bs.session_event(pending))
    assert balance(pending) == 400


def test_refund_and_dispute_together_never_take_back_more_than_was_bought(client, pending):
    bs.deliver(client, bs.session_event(pending))
    bs.deliver(client, bs.refund_event(pending, 3000))
    bs.deliver(client, bs.dispute_event(pending, "funds_withdrawn", amount=5000))
    assert balance(pending) == 0
    assert payment_row(pending).credits_reversed == 500


# Malformed events: refused with 400 and logged, never a 500


def _signed_post(client, payload):
    return client.post("/billing/webhook", data=payload, headers=bs.signed_headers(payload))


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e["data"]["object"].update(amount_refunded="1234"),
        lambda e: e["data"]["object"].update(amount_refunded=True),
        lambda e: e["data"]["object"].update(amount_refunded=-5),
        lambda e: e["data"]["object"].pop("id"),
        lambda e: e["data"].update(object=[1, 2]),
        lambda e: e.update(data="nothing"),
        lambda e: e.update(id=12),
        lambda e: e.pop("type"),
    ],
)
def test_a_signed_event_of_the_wrong_shape_answers_400_and_is_logged(
    app, client, pending, caplog, monkeypatch, change
):
    event = bs.refund_event(pending, 1000)
    change(event)
    # Alembic's logging set-up (the migration tests) disables loggers that exist when it runs.
    monkeypatch.setattr(app.logger, "disabled", False)
    with caplog.at_level(logging.WARNING):
        response = bs.deliver(client, event)
    assert response.status_code == 400
    assert "Stripe webhook refused" in caplog.text
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0


@pytest.mark.parametrize("body", ["[]", "null", "42", '"text"', "{not json", "\udcff"])
def test_signed_bodies_that_are_not_events_answer_400(client, body):
    payload = body.encode("utf-8", "surrogateescape")
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8", "replace"), bs.WEBHOOK_SECRET
    )
    response = client.post("/billing/webhook", data=payload, headers={"Stripe-Signature": header})
    assert response.status_code == 400


def test_an_unknown_type_with_any_object_is_stored_and_answered_200(client):
    payload = json.dumps({"id": "evt_x", "type": "made.up", "data": {"object": "whatever"}})
    assert _signed_post(client, payload).status_code == 200
