"""Automatic top-ups: a saved card (Checkout in setup mode) and "when the balance falls under X, buy
pack Y", charged off-session once per crossing, against the local fake Stripe."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.billing import topup_runner
from helpdesk.billing.models import AutoTopUp, BillingAlert, Payment
from helpdesk.credits import ledger as credits
from helpdesk.extensions import db
from helpdesk.mail.compose import build_email
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets.forms import new_submission_key
from tests import billing_support as bs
from tests.credit_helpers import balance_of, bank
from tests.mail_support import written

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def fake_stripe(app, httpserver, monkeypatch):
    return bs.use_fake_stripe(app, httpserver, monkeypatch)


@pytest.fixture
def pack(ref):
    return bs.pack("Team", credits=1200, price=10000)


@pytest.fixture
def customer(make, ref):
    user = make.customer()
    bank("Pay as you go", 300, user=user)
    return user


@pytest.fixture
def admin(make):
    return make.admin()


def save_rule(client, login, user, pack, threshold=200, action="card", nonce="t" * 20, enabled="y"):
    login(user)
    data = {"threshold": threshold, "pack_id": pack.id, "nonce": nonce, "action": action}
    if enabled:
        data["enabled"] = enabled
    return client.post("/billing/top-up", data=data)


def the_rule():
    db.session.expire_all()
    return db.session.scalar(select(AutoTopUp))


def card_event(rule, card=bs.CARD_OK, customer="cus_card_1"):
    intent = {
        "id": "seti_1",
        "object": "setup_intent",
        "status": "succeeded",
        "customer": customer,
        "payment_method": card,
        "metadata": {"top_up": str(rule.id), "setup_ref": rule.setup_key},
    }
    return bs._event("setup_intent.succeeded", intent)


@pytest.fixture
def armed(client, login, fake_stripe, customer, pack):
    """The customer's rule (under 200 credits buy Team) with a card that pays."""
    save_rule(client, login, customer, pack)
    bs.deliver(client, card_event(the_rule()))
    return the_rule()


def spend(client, login, admin, account, amount):
    """An admin's deduction, through the web (so the request's end charges any top-up it recorded)."""
    login(admin)
    response = client.post(
        f"/admin/credits/banks/{account.id}/adjust",
        data={
            "amount": -amount,
            "reason": "Used",
            "submission_key": new_submission_key(),
            "confirmed_action": "yes",
        },
    )
    assert response.status_code in (200, 302)


def top_ups():
    db.session.expire_all()
    return db.session.scalars(select(Payment).where(Payment.kind == "top_up").order_by(Payment.id)).all()


def intent_succeeded(payment):
    intent = {
        "id": payment.payment_intent_id,
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": "succeeded",
        "metadata": {"top_up": payment.idempotency_key, "top_up_payment": str(payment.id)},
    }
    return bs._event("payment_intent.succeeded", intent)


# Saving the card


def test_saving_a_rule_opens_a_setup_checkout(client, login, fake_stripe, customer, pack):
    response = save_rule(client, login, customer, pack)
    assert response.status_code == 303 and response.location.startswith("https://checkout.stripe.test/")
    (sent,) = fake_stripe.of("/v1/checkout/sessions")
    rule = the_rule()
    form = sent["form"]
    assert form["mode"] == "setup" and form["currency"] == "usd" and form["customer_creation"] == "always"
    assert form["setup_intent_data[metadata][top_up]"] == str(rule.id)
    assert (rule.threshold, rule.pack_id, rule.enabled, rule.has_card) == (200, pack.id, True, False)


def test_the_saved_card_arrives_with_stripes_event(client, login, armed, customer):
    assert armed.payment_method_id == bs.CARD_OK and armed.stripe_customer_id == "cus_card_1"
    login(customer)
    page = client.get("/billing/").get_data(as_text=True)
    assert "When the balance falls under 200 credits, Team (1,200 credits for 100.00 USD) is bought" in page


def test_changing_the_rule_keeps_the_card(client, login, armed, customer, pack, fake_stripe):
    response = save_rule(client, login, customer, pack, threshold=500, action="save")
    assert response.location.endswith("/billing/") and the_rule().threshold == 500 and the_rule().has_card
    assert len(fake_stripe.of("/v1/checkout/sessions")) == 1


def test_a_member_of_a_shared_bank_cannot_set_it_up(client, login, fake_stripe, make, pack):
    org = make.OrganizationFactory()
    member = make.customer(organization=org)
    bank("Pay as you go", 300, organization=org)
    save_rule(client, login, member, pack)
    assert the_rule() is None and not fake_stripe.requests


def test_a_refused_rule_comes_back_on_the_page_as_typed(client, login, fake_stripe, customer, pack):
    answer = save_rule(client, login, customer, pack, threshold="99999999999")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'value="99999999999"' in page
    assert page.count("Enter a whole number between") == 1 and "Number must be" not in page
    assert the_rule() is None


# Crossing the threshold


def test_falling_under_the_threshold_buys_the_pack_off_session_once(client, login, armed, admin, fake_stripe):
    account = armed.account
    spend(client, login, admin, account, 150)  # 300 -> 150: under 200
    (payment,) = top_ups()
    (call,) = fake_stripe.of("/v1/payment_intents")
    form = call["form"]
    assert (form["off_session"], form["confirm"], form["amount"], form["currency"]) == (
        "true",
        "true",
        "10000",
        "usd",
    )
    assert (form["customer"], form["payment_method"]) == ("cus_card_1", bs.CARD_OK)
    assert call["headers"]["Idempotency-Key"] == payment.idempotency_key
    assert (
        payment.idempotency_key.startswith(f"top-up:{account.id}:")
        and payment.payment_intent_id == "pi_test_1"
    )
    assert balance_of(account) == 150  # credits come with Stripe's event, not the API answer
    # The low-balance mail of that same debit says the top-up has started, not "buy credits".
    [low] = written(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "low_balance")).all()
    )
    assert "Your automatic top-up of 1,200 credits has started with the saved card" in low.body_text
    assert "Buy credits" not in low.body_text and "Buy credits" not in low.body_html

    spend(client, login, admin, account, 50)  # still under: the same crossing, no second top-up
    assert len(top_ups()) == 1 and len(fake_stripe.of("/v1/payment_intents")) == 1

    bs.deliver(client, intent_succeeded(payment))
    bs.deliver(client, intent_succeeded(payment))  # twice: credited once
    assert balance_of(account) == 100 + 1200 and top_ups()[0].status == "paid"
    assert credits.ledger_mismatches() == []


def test_each_new_crossing_buys_again(client, login, armed, admin, fake_stripe):
    account = armed.account
    spend(client, login, admin, account, 150)
    bs.deliver(client, intent_succeeded(top_ups()[0]))  # 1,350
    spend(client, login, admin, account, 1200)  # 150: a new crossing
    assert len(top_ups()) == 2 and top_ups()[1].idempotency_key != top_ups()[0].idempotency_key


def test_a_rule_set_up_under_its_threshold_buys_at_the_next_debit_once(
    client, login, fake_stripe, customer, pack, admin
):
    account = credits.account_for(customer)
    spend(client, login, admin, account, 150)  # 300 -> 150 before any rule: nothing to do
    save_rule(client, login, customer, pack)  # "under 200": already under
    bs.deliver(client, card_event(the_rule()))
    assert top_ups() == []
    spend(client, login, admin, account, 20)  # 150 -> 130: no crossing, but the first debit since
    assert len(top_ups()) == 1
    spend(client, login, admin, account, 20)  # still under, a top-up already bought: no second
    assert len(top_ups()) == 1


def test_landing_exactly_on_the_threshold_is_not_under_it(client, login, armed, admin, fake_stripe):
    spend(client, login, admin, armed.account, 100)  # 300 -> 200
    assert top_ups() == []


def test_two_charges_crossing_in_one_transaction_buy_once(armed):
    for key in ("a", "b"):
        credits.post_entry(armed.account_id, -90, "charge", idempotency_key=f"two:{key}")  # 300 -> 210 -> 120
        credits.post_entry(armed.account_id, -10, "charge", idempotency_key=f"two:{key}2")
    db.session.commit()
    assert len(top_ups()) == 1


def test_a_refund_or_dispute_reversal_never_tops_up(armed):
    credits.post_entry(armed.account_id, -250, "reversal", idempotency_key="refunded", allow_below_floor=True)
    db.session.commit()
    assert top_ups() == []


def test_a_turned_off_rule_does_nothing(client, login, armed, admin, customer, pack):
    save_rule(client, login, customer, pack, action="save", enabled=None)
    assert the_rule().enabled is False
    spend(client, login, admin, armed.account, 150)
    assert top_ups() == []


def test_turning_the_rule_off_cancels_a_top_up_still_waiting_for_stripe(
    client, login, armed, admin, customer, pack, fake_stripe, clock
):
    """Stripe was away when the balance fell, and the customer turned automatic top-up off before
    the sweep's retry: their card is not charged after they said no."""
    fake_stripe.down = True
    spend(client, login, admin, armed.account, 150)
    save_rule(client, login, customer, pack, action="save", enabled=None)
    assert "Automatic top-up is off." in client.get("/billing/").get_data(as_text=True)
    fake_stripe.down = False
    clock.shift(topup_runner.LEASE + timedelta(seconds=1))
    client.application.test_cli_runner().invoke(args=["billing", "sweep"])
    assert fake_stripe.intents == {}  # only the attempt Stripe missed was made
    assert top_ups()[0].status == "expired" and balance_of(armed.account) == 150


@pytest.fixture
def managed(client, login, fake_stripe, make, pack):
    """An organization's shared bank (300 credits) whose manager saved the rule with their card."""
    org = make.OrganizationFactory()
    manager = make.customer(organization=org, is_org_manager=True)
    shared = bank("Pay as you go", 300, organization=org)
    save_rule(client, login, manager, pack)
    bs.deliver(client, card_event(the_rule()))
    assert the_rule().has_card and the_rule().account_id == shared.id
    return org, manager, shared


def test_a_manager_who_left_the_organization_no_longer_pays_for_its_bank(
    client, login, managed, fake_stripe, admin
):
    """The card a manager saved for the shared bank is theirs: once they leave the organization it
    is never charged for that bank again (nor are they mailed its receipts)."""
    org, manager, shared = managed
    login(admin)
    left = client.post(
        f"/admin/organizations/{org.id}/members/{manager.id}/remove", data={"confirmed_action": "yes"}
    )
    assert left.status_code in (200, 302, 303)
    spend(client, login, admin, shared, 150)  # 300 -> 150: under 200
    client.application.test_cli_runner().invoke(args=["billing", "sweep"])
    assert fake_stripe.of("/v1/payment_intents") == [] and top_ups() == []
    assert balance_of(shared) == 150


def test_a_top_up_waiting_when_its_card_owner_left_is_never_charged(
    client, login, managed, fake_stripe, admin, clock
):
    org, manager, shared = managed
    fake_stripe.down = True
    spend(client, login, admin, shared, 150)  # recorded; Stripe away: left for the sweep
    login(admin)
    client.post(
        f"/admin/organizations/{org.id}/members/{manager.id}/remove", data={"confirmed_action": "yes"}
    )
    fake_stripe.down = False
    clock.shift(topup_runner.LEASE + timedelta(seconds=1))
    client.application.test_cli_runner().invoke(args=["billing", "sweep"])
    assert (
        len(fake_stripe.of("/v1/payment_intents")) == 1 and fake_stripe.intents == {}
    )  # the attempt Stripe missed
    (payment,) = top_ups()
    assert payment.status == "expired" and balance_of(shared) == 150


def test_another_manager_who_changes_the_rule_saves_their_own_card(
    client, login, managed, fake_stripe, make, pack, admin
):
    org, manager, shared = managed
    other = make.customer(organization=org, is_org_manager=True)
    response = save_rule(client, login, other, pack, threshold=250, action="save", nonce="o" * 20)
    assert response.location.startswith("https://checkout.stripe.test/")  # to Stripe, for their card
    page = client.get("/billing/").get_data(as_text=True)
    assert "Save a card and turn on" in page and "is bought with the card saved on" not in page
    spend(client, login, admin, shared, 150)
    assert fake_stripe.of("/v1/payment_intents") == []  # the first manager's card is not theirs to spend


# A card that is refused


@pytest.mark.parametrize(
    "card, code, reason",
    [
        (
            bs.CARD_NEEDS_AUTHENTICATION,
            "authentication_required",
            "your bank asks you to confirm the payment",
        ),
        (bs.CARD_DECLINED, "card_declined", "your card was declined"),
    ],
)
def test_a_refused_card_mails_a_pay_link_and_alerts_admins(
    client, login, fake_stripe, customer, pack, admin, card, code, reason
):
    save_rule(client, login, customer, pack)
    bs.deliver(client, card_event(the_rule(), card=card))
    spend(client, login, admin, the_rule().account, 150)
    (payment,) = top_ups()
    assert payment.status == "failed" and payment.failure_code == code and payment.payment_intent_id
    (mail,) = written(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "top_up_failed")).all()
    )
    text = build_email(mail).get_body(("plain",)).get_content()
    assert mail.to_addr == customer.email and reason in text and f"/billing/top-ups/{payment.id}/pay" in text
    (alert,) = db.session.scalars(select(BillingAlert).where(BillingAlert.kind == "top_up_failed")).all()
    assert code in alert.message

    login(customer)
    response = client.get(f"/billing/top-ups/{payment.id}/pay")  # pays the same pack through Checkout
    assert response.status_code == 303 and response.location.startswith("https://checkout.stripe.test/")
    by_hand = db.session.scalar(select(Payment).where(Payment.kind == "pack"))
    assert by_hand.pack_id == pack.id and by_hand.user_id == customer.id


def test_a_late_failure_event_changes_nothing_more(client, login, fake_stripe, customer, pack, admin):
    save_rule(client, login, customer, pack)
    bs.deliver(client, card_event(the_rule(), card=bs.CARD_DECLINED))
    spend(client, login, admin, the_rule().account, 150)
    (payment,) = top_ups()
    failed = {"id": payment.payment_intent_id, "object": "payment_intent", "amount": 10000, "currency": "usd"}
    failed["last_payment_error"] = {"code": "card_declined"}
    bs.deliver(client, bs._event("payment_intent.payment_failed", failed))
    assert (
        db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "top_up_failed"))
        == 1
    )


def test_someone_else_cannot_use_the_pay_link(client, login, fake_stripe, customer, pack, admin, make):
    save_rule(client, login, customer, pack)
    bs.deliver(client, card_event(the_rule(), card=bs.CARD_DECLINED))
    spend(client, login, admin, the_rule().account, 150)
    login(make.customer())
    assert client.get(f"/billing/top-ups/{top_ups()[0].id}/pay").status_code == 404


# Crashes, retries and Stripe being away: never two charges for one crossing


def test_a_retry_after_a_crash_reuses_the_idempotency_key(armed, fake_stripe, clock, app):
    credits.post_entry(
        armed.account_id, -150, "charge", idempotency_key="spent"
    )  # not a request: no attempt yet
    db.session.commit()
    (payment,) = top_ups()
    call = topup_runner.claim(payment.id)
    db.session.commit()
    assert topup_runner.charge(call).ok  # Stripe charged ... and the runner died before recording it
    assert (
        app.test_cli_runner().invoke(args=["billing", "sweep"]).output.endswith("0 of 0 top-up(s) charged.\n")
    )
    clock.shift(topup_runner.LEASE + timedelta(seconds=1))
    assert "1 of 1 top-up(s) charged" in app.test_cli_runner().invoke(args=["billing", "sweep"]).output
    calls = fake_stripe.of("/v1/payment_intents")
    assert len(calls) == 2 and {c["headers"]["Idempotency-Key"] for c in calls} == {payment.idempotency_key}
    assert len(fake_stripe.intents) == 1 and top_ups()[0].payment_intent_id == "pi_test_1"


def test_stripe_away_leaves_the_top_up_for_the_sweep(client, login, armed, admin, fake_stripe, clock, app):
    fake_stripe.down = True
    spend(client, login, admin, armed.account, 150)
    (payment,) = top_ups()
    assert payment.status == "pending" and payment.attempts == 1 and payment.payment_intent_id is None
    fake_stripe.down = False
    clock.shift(topup_runner.LEASE + timedelta(seconds=1))
    app.test_cli_runner().invoke(args=["billing", "sweep"])
    assert top_ups()[0].payment_intent_id == "pi_test_1"


def test_a_top_up_unfinished_after_23_hours_is_given_up_with_an_alert(
    client, login, armed, admin, fake_stripe, clock, app
):
    fake_stripe.down = True
    spend(client, login, admin, armed.account, 150)
    clock.shift(timedelta(hours=23, minutes=1))
    app.test_cli_runner().invoke(args=["billing", "sweep"])
    (payment,) = top_ups()
    assert payment.status == "failed" and payment.failure_code == "gave_up"
    assert (
        db.session.scalar(select(BillingAlert.kind).where(BillingAlert.payment_id == payment.id))
        == "top_up_failed"
    )


def test_stripes_event_before_the_runner_records_credits_once(armed, fake_stripe, client):
    credits.post_entry(armed.account_id, -150, "charge", idempotency_key="spent")
    db.session.commit()
    (payment,) = top_ups()
    call = topup_runner.claim(payment.id)
    db.session.commit()
    result = topup_runner.charge(call)
    payment.payment_intent_id = result.intent_id  # what the event carries; our row does not know it yet
    event = intent_succeeded(payment)
    db.session.rollback()
    bs.deliver(client, event)  # found by its metadata
    assert balance_of(armed.account) == 150 + 1200
    assert topup_runner.record(payment.id, result) == "charged"
    db.session.commit()
    assert top_ups()[0].status == "paid" and balance_of(armed.account) == 1350


def test_an_intent_paid_with_another_amount_is_not_credited(client, login, armed, admin):
    spend(client, login, admin, armed.account, 150)
    event = intent_succeeded(top_ups()[0])
    event["data"]["object"]["amount"] = 1
    bs.deliver(client, event)
    assert balance_of(armed.account) == 150
    assert db.session.scalar(select(BillingAlert.kind).where(BillingAlert.kind == "amount_mismatch"))


# The demo provider, offline


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", None)


def test_the_demo_provider_saves_a_card_and_tops_up(client, login, demo, customer, pack, admin):
    response = save_rule(client, login, customer, pack)
    rule = the_rule()
    assert response.location.endswith(f"/billing/demo-card/{rule.id}")
    assert "Save a test card that pays" in client.get(response.location).get_data(as_text=True)
    client.post(response.location, data={"card": "demo_pm_ok"})
    assert the_rule().has_card
    spend(client, login, admin, rule.account, 150)
    assert balance_of(rule.account) == 150 + 1200 and top_ups()[0].status == "paid"


def test_the_demo_card_that_needs_authentication_fails_the_top_up(client, login, demo, customer, pack, admin):
    response = save_rule(client, login, customer, pack)
    client.post(response.location, data={"card": "demo_pm_authentication"})
    spend(client, login, admin, the_rule().account, 150)
    assert top_ups()[0].failure_code == "authentication_required"
