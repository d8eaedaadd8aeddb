"""Plan subscriptions by card: the real `stripe` library against the local fake Stripe, and the
events Stripe sends for a subscription in any order."""

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.billing import subscription_events
from helpdesk.billing.models import BillingAlert, PlanPrice, PlanSubscription, SubscriptionInvoice
from helpdesk.credits import allowances
from helpdesk.credits.models import CreditSettingChange, LedgerEntry
from helpdesk.extensions import db
from helpdesk.mail.compose import build_email
from helpdesk.mail.models import OutboxMessage
from tests import billing_support as bs
from tests.credit_helpers import balance_of, bank, plan
from tests.csv_support import spreadsheet_records
from tests.mail_support import written

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
NEXT_MONTH = datetime(2027, 1, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def fake_stripe(app, httpserver, monkeypatch):
    return bs.use_fake_stripe(app, httpserver, monkeypatch)


@pytest.fixture
def business(ref):
    """The seeded Business plan (1,000 credits a month, rollover cap 1,000) sold at a Stripe price,
    falling back to Pay as you go."""
    db.session.add(
        PlanPrice(
            plan_id=plan("Business").id,
            stripe_price_id="price_business",
            fallback_plan_id=plan("Pay as you go").id,
        )
    )
    db.session.commit()
    return plan("Business")


@pytest.fixture
def customer(make, ref):
    user = make.customer()
    bank("Pay as you go", 0, user=user)
    return user


def subscribe(client, login, user, nonce="n" * 20):
    login(user)
    plan_id = plan("Business").id
    return client.post("/billing/subscribe", data={"plan_id": plan_id, "nonce": nonce})


def the_subscription():
    db.session.expire_all()
    return db.session.scalar(select(PlanSubscription))


def account_of(user):
    from helpdesk.credits import ledger as credits

    db.session.expire_all()
    return credits.account_for(user)


def outbox(kind):
    return written(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


@pytest.fixture
def running(client, login, fake_stripe, business, customer):
    """A subscription whose checkout completed and whose first invoice (Dec 2 - Jan 2) was paid."""
    subscribe(client, login, customer)
    subscription = the_subscription()
    bs.deliver(client, bs.subscription_session_event(subscription))
    bs.deliver(client, bs.invoice_event(subscription, invoice_id="in_first"))
    return the_subscription()


# Starting a subscription


def test_the_billing_page_offers_plans_sold_by_subscription(client, login, fake_stripe, business, customer):
    login(customer)
    page = client.get("/billing/").get_data(as_text=True)
    assert "Monthly plan" in page and "Subscribe to Business" in page and "1,000 credits every month" in page


def test_subscribing_opens_a_subscription_checkout_at_the_plans_price(
    client, login, fake_stripe, business, customer
):
    response = subscribe(client, login, customer)
    assert response.status_code == 303 and response.location.startswith("https://checkout.stripe.test/")
    (sent,) = fake_stripe.of("/v1/checkout/sessions")
    form = sent["form"]
    assert form["mode"] == "subscription" and form["line_items[0][price]"] == "price_business"
    subscription = the_subscription()
    assert form["subscription_data[metadata][subscription_ref]"] == subscription.idempotency_key
    assert form["customer_email"] == customer.email and sent["headers"]["Idempotency-Key"]
    assert subscription.status == "pending" and subscription.stripe_session_id == "cs_test_1"
    assert account_of(customer).plan.name == "Pay as you go"  # nothing changes before Stripe says so


def test_a_double_click_makes_one_subscription_and_one_session(
    client, login, fake_stripe, business, customer
):
    subscribe(client, login, customer)
    subscribe(client, login, customer)
    assert db.session.scalar(select(func.count(PlanSubscription.id))) == 1
    assert len(fake_stripe.of("/v1/checkout/sessions")) == 1


def test_a_member_of_a_shared_bank_cannot_subscribe_for_it(client, login, fake_stripe, business, make, ref):
    org = make.OrganizationFactory()
    member = make.customer(organization=org)
    bank("Pay as you go", 0, organization=org)
    response = subscribe(client, login, member)
    assert response.status_code == 303
    assert db.session.scalar(select(func.count(PlanSubscription.id))) == 0 and not fake_stripe.requests


def test_a_bank_with_a_running_subscription_cannot_start_another(client, login, running):
    response = subscribe(client, login, running.user, nonce="m" * 20)
    assert response.status_code == 303
    assert db.session.scalar(select(func.count(PlanSubscription.id))) == 1


# invoice.paid grants the allowance exactly once per invoice


def test_completion_and_first_invoice_move_the_bank_and_grant_the_allowance(running, customer):
    account = account_of(customer)
    assert running.status == "active" and running.stripe_subscription_id == "sub_test_1"
    assert account.plan.name == "Business" and account.allowance_invoiced and account.balance == 1000
    assert running.paid_until == datetime(2027, 1, 2, tzinfo=UTC)
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "allowance"))
    assert entry.idempotency_key == f"allowance:{account.id}:invoice:in_first" and entry.period == "2026-12"


def test_the_same_invoice_paid_again_grants_nothing_more(client, running, customer):
    bs.deliver(client, bs.invoice_event(running, invoice_id="in_first"))  # a new event id, same invoice
    assert balance_of(account_of(customer)) == 1000


def test_a_renewal_grants_the_next_period_under_the_rollover_cap(client, running, customer):
    bs.deliver(
        client,
        bs.invoice_event(
            running, reason="subscription_cycle", start=NEXT_MONTH, end=datetime(2027, 2, 2, tzinfo=UTC)
        ),
    )
    assert balance_of(account_of(customer)) == 2000  # cap 1,000 carried over + 1,000
    bs.deliver(client, bs.invoice_event(running, reason="subscription_cycle"))
    assert balance_of(account_of(customer)) == 2000  # at the cap: granted 0


def test_an_invoice_for_a_change_of_subscription_grants_nothing(client, running, customer):
    bs.deliver(client, bs.invoice_event(running, reason="subscription_update"))
    assert balance_of(account_of(customer)) == 1000


def test_an_invoice_paid_before_the_checkout_completes_is_matched_by_its_reference(
    client, login, fake_stripe, business, customer
):
    subscribe(client, login, customer)
    subscription = the_subscription()
    bs.deliver(client, bs.invoice_event(subscription, invoice_id="in_early"))
    assert the_subscription().status == "active" and balance_of(account_of(customer)) == 1000
    bs.deliver(client, bs.subscription_session_event(subscription))
    assert balance_of(account_of(customer)) == 1000 and the_subscription().stripe_customer_id == "cus_test_1"


def test_an_invoice_without_reference_before_the_completion_waits_for_it(
    client, login, fake_stripe, business, customer
):
    subscribe(client, login, customer)
    subscription = the_subscription()
    response = bs.deliver(client, bs.invoice_event(subscription, invoice_id="in_early", with_ref=False))
    assert response.get_json()["outcome"].startswith("kept") and balance_of(account_of(customer)) == 0
    bs.deliver(client, bs.subscription_session_event(subscription))
    assert balance_of(account_of(customer)) == 1000


def test_the_monthly_allowance_run_skips_banks_paid_by_subscription(running, customer, make):
    other = make.customer()
    business_bank = bank("Business", 0, user=other)
    assert allowances.allowance_accounts() == [business_bank.id]


# Failed renewals


def test_a_failed_renewal_mails_the_subscriber_and_alerts_admins_once(client, running, customer, make):
    make.admin()
    failed = bs.invoice_event(running, "invoice.payment_failed", "subscription_cycle", invoice_id="in_renew")
    bs.deliver(client, failed)
    bs.deliver(
        client,
        bs.invoice_event(running, "invoice.payment_failed", "subscription_cycle", invoice_id="in_renew"),
    )
    assert the_subscription().status == "past_due"
    (mail,) = outbox("subscription_renewal_failed")
    assert mail.to_addr == customer.email and "could not be renewed" in mail.subject
    text = build_email(mail).get_body(("plain",)).get_content()
    assert "Business plan did not go through" in text and "/billing/" in text
    (alert,) = db.session.scalars(select(BillingAlert).where(BillingAlert.kind == "renewal_failed")).all()
    assert "in_renew" in alert.message and len(outbox("admin_alert")) == 1
    bs.deliver(client, bs.invoice_event(running, reason="subscription_cycle", invoice_id="in_renew"))
    assert the_subscription().status == "active"


def test_the_billing_page_asks_to_update_the_card_after_a_failed_renewal(client, login, running, customer):
    bs.deliver(client, bs.invoice_event(running, "invoice.payment_failed", "subscription_cycle"))
    login(customer)
    page = client.get("/billing/").get_data(as_text=True)
    assert "The last renewal payment failed" in page and "Manage card or cancel" in page


def test_a_failed_attempt_reported_after_its_invoice_was_paid_leaves_the_subscription_active(
    client, login, running, customer
):
    """Stripe retried the card and the retry paid, but the first attempt's failure came last (events
    arrive out of order): the renewal is paid, so nothing says it failed and nobody is mailed."""
    paid = bs.invoice_event(running, reason="subscription_cycle", invoice_id="in_renew")
    failed = bs.invoice_event(running, "invoice.payment_failed", "subscription_cycle", invoice_id="in_renew")
    assert bs.deliver(client, paid).status_code == 200
    assert bs.deliver(client, failed).status_code == 200
    assert the_subscription().status == "active"
    login(customer)
    page = client.get("/billing/").get_data(as_text=True)
    assert "The last renewal payment failed" not in page and "Renewal failed" not in page
    assert outbox("subscription_renewal_failed") == []


# Cancelling: the bank keeps the plan to the end of the paid period


def test_a_cancelled_subscription_keeps_the_plan_until_the_paid_period_ends(
    client, running, customer, clock, app
):
    bs.deliver(client, bs.subscription_deleted_event(running))
    subscription = the_subscription()
    assert subscription.status == "canceled" and subscription.ends_at == datetime(2027, 1, 2, tzinfo=UTC)
    assert account_of(customer).plan.name == "Business"
    runner = app.test_cli_runner()
    assert "0 subscription(s) ended" in runner.invoke(args=["billing", "sweep"]).output
    clock.move_to(datetime(2027, 1, 2, 0, 1, tzinfo=UTC))
    assert "1 subscription(s) ended" in runner.invoke(args=["billing", "sweep"]).output
    account = account_of(customer)
    assert account.plan.name == "Pay as you go" and not account.allowance_invoiced and account.balance == 1000
    assert the_subscription().status == "ended"
    assert allowances.allowance_accounts() == []  # Pay as you go has no allowance


def test_a_subscription_ended_after_its_paid_period_moves_the_bank_at_once(client, running, customer, clock):
    clock.move_to(datetime(2027, 1, 20, tzinfo=UTC))  # renewals failed for weeks, then Stripe gave up
    bs.deliver(client, bs.subscription_deleted_event(running))
    assert the_subscription().status == "ended" and account_of(customer).plan.name == "Pay as you go"


def test_without_a_named_fallback_the_bank_moves_to_the_default_plan(client, running, customer, clock):
    db.session.get(PlanPrice, running.plan_id).fallback_plan_id = None
    db.session.commit()
    clock.move_to(datetime(2027, 2, 1, tzinfo=UTC))
    bs.deliver(client, bs.subscription_deleted_event(running))
    assert account_of(customer).plan.name == "Free"


# The customer portal


def test_manage_opens_stripes_customer_portal(client, login, running, fake_stripe, customer):
    login(customer)
    response = client.post("/billing/subscription/manage")
    assert (
        response.status_code == 303
        and response.location == "https://billing.stripe.test/p/session/cus_test_1"
    )
    (sent,) = fake_stripe.of("/v1/billing_portal/sessions")
    assert sent["form"]["return_url"].endswith("/billing/")


def test_someone_else_cannot_manage_the_subscription(client, login, running, fake_stripe, make):
    login(make.customer())
    assert client.post("/billing/subscription/manage").status_code == 303
    assert not fake_stripe.of("/v1/billing_portal/sessions")


# Admin: the plan form


def _plan_form(prefix, **changes):
    data = {
        prefix + "name": "Business",
        prefix + "priorities": [],
        prefix + "credits_enabled": "y",
        prefix + "signup_grant": 0,
        prefix + "monthly_allowance": 1000,
        prefix + "rollover_cap": 1000,
        prefix + "billing_mode": "priority",
        prefix + "minute_rate": 1,
        prefix + "overdraft_floor": 0,
        prefix + "thresholds": "",
    }
    return data | {prefix + k: v for k, v in changes.items()}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"subscription_price": "prod_123"}, "starts with price_"),
        ({"subscription_price": "price_x", "monthly_allowance": 0}, "monthly allowance can be sold"),
    ],
)
def test_the_plan_form_refuses_a_bad_price(client, login, make, ref, changes, message):
    login(make.admin())
    business = plan("Business")
    prefix = f"plan{business.id}-"
    data = _plan_form(prefix, **changes) | {prefix + "priorities": [ref.priorities["Normal"].id]}
    page = client.post(f"/admin/credits/plans/{business.id}", data=data).get_data(as_text=True)
    assert message in page and db.session.get(PlanPrice, business.id) is None


def test_the_admin_sets_the_price_and_fallback_on_the_plan_form(client, login, make, ref):
    admin = make.admin()
    login(admin)
    business, payg = plan("Business"), plan("Pay as you go")
    prefix = f"plan{business.id}-"
    page = client.get("/admin/credits/plans").get_data(as_text=True)
    assert "Stripe price of a monthly card subscription" in page and "When a subscription ends" in page
    data = _plan_form(prefix, subscription_price="price_1Abc", subscription_fallback=payg.id)
    data[prefix + "priorities"] = [ref.priorities["Normal"].id]
    saved = client.post(f"/admin/credits/plans/{business.id}", data=data, follow_redirects=True)
    assert "Business saved." in saved.get_data(as_text=True)
    row = db.session.get(PlanPrice, business.id)
    assert (row.stripe_price_id, row.fallback_plan_id) == ("price_1Abc", payg.id)
    change = db.session.scalar(
        select(CreditSettingChange).where(CreditSettingChange.field == "subscription_price")
    )
    assert (change.old_value, change.new_value, change.actor_id) == (None, "price_1Abc", admin.id)


def test_a_running_subscription_never_lapses(running):
    subscription = subscription_events.lock_subscription(running.id)
    assert subscription_events.lapse(subscription, NEXT_MONTH) is False


# The demo provider covers the whole flow offline


@pytest.fixture
def demo(app, monkeypatch, business):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", None)


def test_the_demo_provider_runs_a_subscription_from_checkout_to_its_end(
    client, login, demo, customer, clock, app
):
    response = subscribe(client, login, customer)
    subscription = the_subscription()
    assert response.location.endswith(f"/billing/demo-subscribe/{subscription.id}")
    assert "Subscribe to Business" in client.get(response.location).get_data(as_text=True)
    client.post(response.location, data={"action": "subscribe"})
    account = account_of(customer)
    assert account.plan.name == "Business" and account.balance == 1000

    portal = client.post("/billing/subscription/manage").location
    assert portal.endswith(f"/billing/demo-portal/{subscription.id}")
    client.post(portal, data={"action": "renew"})
    assert balance_of(account) == 2000
    client.post(portal, data={"action": "fail"})
    assert the_subscription().status == "past_due" and len(outbox("subscription_renewal_failed")) == 1
    client.post(portal, data={"action": "cancel"})
    page = client.get("/billing/").get_data(as_text=True)
    assert "Cancelled" in page and "then the bank moves to Pay as you go" in page

    clock.move_to(datetime(2027, 2, 3, tzinfo=UTC))  # after the renewed period
    app.test_cli_runner().invoke(args=["billing", "sweep"])
    assert account_of(customer).plan.name == "Pay as you go"


def test_demo_pages_are_only_for_the_subscriber(client, login, demo, customer, make):
    subscribe(client, login, customer)
    subscription = the_subscription()
    login(make.customer())
    assert client.get(f"/billing/demo-subscribe/{subscription.id}").status_code == 404
    assert client.get(f"/billing/demo-portal/{subscription.id}").status_code == 404


# What a subscriber pays and gets: the allowance whole, the price before paying, the receipt after


def statement(client):
    return client.get("/portal/credits").get_data(as_text=True)


def next_allowance(client):
    page = statement(client)
    return " ".join(page.split('id="next-allowance">')[1].split("</dd>")[0].split())


def test_bought_credits_never_reduce_the_allowance_of_a_paid_subscription(client, login, demo, customer):
    from helpdesk.credits import ledger as credits

    credits.post_entry(account_of(customer).id, 1650, "purchase", idempotency_key="packs", memo="Packs")
    db.session.commit()
    client.post(subscribe(client, login, customer).location, data={"action": "subscribe"})
    assert balance_of(account_of(customer)) == 2650  # the whole 1,000 the plan promised (350 before)
    page = statement(client)
    assert "Business allowance 2026-12" in page and "+1,000" in page and "less" not in page

    portal = client.post("/billing/subscription/manage").location
    client.post(portal, data={"action": "renew"})  # 1,000 unused allowance: at the cap, all carried
    assert balance_of(account_of(customer)) == 3650
    client.post(portal, data={"action": "renew"})  # 2,000 unused: 1,000 over the cap expire
    assert balance_of(account_of(customer)) == 3650  # 1,650 bought + 2,000 allowance (cap + new)
    assert "1,000 credits, less 1,000 unused allowance above the rollover cap of 1,000" in statement(client)


def test_the_demo_checkout_shows_the_price_and_the_rollover_before_paying(client, login, demo, customer):
    login(customer)
    offer = client.get("/billing/").get_data(as_text=True)
    assert "Up to 1,000 credits of unused allowance carry over" in offer
    assert "Credits you buy never expire and never reduce the allowance" in offer
    page = client.get(subscribe(client, login, customer).location).get_data(as_text=True)
    assert "49.00 USD a month</strong>, paid today and then every month until you cancel" in page
    assert "Subscribe to Business for 49.00 USD a month" in page
    assert "Up to 1,000 credits of unused allowance carry over" in page


def test_the_credits_page_shows_a_subscriptions_next_allowance(client, login, demo, customer):
    client.post(subscribe(client, login, customer).location, data={"action": "subscribe"})
    assert next_allowance(client) == "1,000 credits on 2027-01-02, when the Business subscription renews"
    portal = client.post("/billing/subscription/manage").location
    client.post(portal, data={"action": "renew"})
    assert next_allowance(client) == "1,000 credits on 2027-02-02, when the Business subscription renews"
    client.post(portal, data={"action": "fail"})
    assert next_allowance(client).startswith(
        "1,000 credits once the Business subscription's failed renewal is paid"
    )
    client.post(portal, data={"action": "cancel"})
    assert next_allowance(client) == "None: the Business subscription was cancelled and ends on 2027-02-02"


def test_a_paid_invoice_is_in_the_payment_history_with_its_receipt_by_mail(
    client, login, demo, customer, make
):
    client.post(subscribe(client, login, customer).location, data={"action": "subscribe"})
    page = client.get("/billing/").get_data(as_text=True)
    history = page.split('id="payment-history"')[1]
    assert "Business subscription, 2026-12-02 to 2027-01-02" in history and "49.00 USD" in history
    assert "No card payments yet" not in history
    invoice = db.session.scalar(select(SubscriptionInvoice))
    receipt_url = f"/billing/invoices/{invoice.id}"
    assert receipt_url in history
    receipt = client.get(receipt_url).get_data(as_text=True)
    assert "Receipt for invoice" in receipt and "49.00 USD" in receipt and "1,000" in receipt

    (mail,) = outbox("purchase_receipt")
    text = build_email(mail).get_body(("plain",)).get_content()
    assert mail.to_addr == customer.email and mail.subject == "Receipt: 1,000 help desk credits"
    assert "Amount paid: 49.00 USD" in text and "Business subscription, invoice demo_in_" in text
    assert receipt_url in text

    client.post(client.post("/billing/subscription/manage").location, data={"action": "renew"})
    assert len(outbox("purchase_receipt")) == 2
    assert client.get("/billing/").get_data(as_text=True).count("Business subscription, 20") == 2

    login(make.customer())
    assert client.get(receipt_url).status_code == 404
    assert "Business subscription" not in client.get("/billing/").get_data(as_text=True)


def test_an_invoice_paid_twice_sends_one_receipt(client, login, running, customer):
    bs.deliver(client, bs.invoice_event(running, invoice_id="in_first"))  # Stripe delivers it again
    (mail,) = outbox("purchase_receipt")
    text = build_email(mail).get_body(("plain",)).get_content()
    assert "Business subscription, invoice in_first" in text and "Amount paid: 49.00 USD" in text
    login(customer)
    assert client.get("/billing/").get_data(as_text=True).count("Invoice in_first") == 1


def test_the_revenue_report_counts_what_subscriptions_were_paid(
    client, login, running, customer, make, clock
):
    """The first invoice (December) and a renewal (January) are money the help desk took: each is in
    the revenue of the month it was paid, like a pack's, on the page and in the CSV."""
    clock.move_to(NEXT_MONTH)
    bs.deliver(client, bs.invoice_event(running, reason="subscription_cycle", invoice_id="in_renew"))
    login(make.admin())
    rows = {r["month"]: r for r in spreadsheet_records(client.get("/admin/billing/report.csv"))}
    assert (rows["2026-12"]["revenue_minor"], rows["2027-01"]["revenue_minor"]) == ("4900", "4900")
    page = client.get("/admin/billing/report").get_data(as_text=True)
    assert page.count('<td class="num">49.00 USD</td>') == 2
