"""Buying a pack: a Stripe Checkout Session from the real library against a local fake Stripe API."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk.billing.models import Payment
from helpdesk.credits.models import CreditAccount
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.markup_checks import markup_problems


@pytest.fixture
def fake_stripe(app, httpserver, monkeypatch):
    return bs.use_fake_stripe(app, httpserver, monkeypatch)


@pytest.fixture
def shop(make):
    plan = bs.default_plan()
    return type("Shop", (), {"plan": plan, "pack": bs.pack("Team", credits=1200, price=10000)})


def nonce_of(page):
    return re.search(r'name="nonce"[^>]*value="([^"]+)"', page).group(1)


def buy(client, pack, nonce):
    return client.post("/billing/buy", data={"pack_id": pack.id, "nonce": nonce})


def test_buy_creates_a_checkout_session_priced_from_our_pack(client, login, make, shop, fake_stripe):
    customer = make.customer(email="cust@example.test")
    login(customer)
    page = client.get("/billing/").get_data(as_text=True)
    response = buy(client, shop.pack, nonce_of(page))
    assert response.status_code == 303
    assert response.headers["Location"] == "https://checkout.stripe.test/pay/cs_test_1"
    (sent,) = fake_stripe.requests
    form = sent["form"]
    account = db.session.scalar(select(CreditAccount).where(CreditAccount.user_id == customer.id))
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "10000"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["metadata[account_id]"] == str(account.id)
    assert form["metadata[pack_id]"] == str(shop.pack.id)
    assert form["metadata[user_id]"] == str(customer.id)
    assert str(account.id) in form["client_reference_id"] and str(shop.pack.id) in form["client_reference_id"]
    assert form["success_url"].endswith("session_id={CHECKOUT_SESSION_ID}")
    assert sent["headers"]["Idempotency-Key"].startswith(f"checkout:{account.id}:{shop.pack.id}:")
    payment = db.session.scalar(select(Payment))
    assert (payment.status, payment.stripe_session_id, payment.amount, payment.credits) == (
        "pending",
        "cs_test_1",
        10000,
        1200,
    )
    assert account.balance == 0  # nothing credited until the webhook says paid


def test_double_click_makes_one_session_and_one_payment(client, login, make, shop, fake_stripe):
    login(make.customer())
    nonce = nonce_of(client.get("/billing/").get_data(as_text=True))
    first = buy(client, shop.pack, nonce)
    second = buy(client, shop.pack, nonce)
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    assert len(fake_stripe.requests) == 1


def test_a_new_page_load_buys_again(client, login, make, shop, fake_stripe):
    login(make.customer())
    buy(client, shop.pack, nonce_of(client.get("/billing/").get_data(as_text=True)))
    buy(client, shop.pack, nonce_of(client.get("/billing/").get_data(as_text=True)))
    assert db.session.scalar(select(func.count(Payment.id))) == 2


def test_stripe_down_charges_nothing_and_says_so(client, login, make, shop, fake_stripe, app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens
    login(make.customer())
    response = buy(client, shop.pack, "n" * 32)
    assert response.status_code == 303 and response.headers["Location"].endswith("/billing/")
    page = client.get("/billing/").get_data(as_text=True)
    assert "unavailable; nothing was charged" in page
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_success_page_polls_until_the_webhook_credits(client, login, make, shop, fake_stripe):
    customer = make.customer()
    login(customer)
    buy(client, shop.pack, "x" * 32)
    payment = db.session.scalar(select(Payment))
    back = client.get(f"/billing/checkout/return?session_id={payment.stripe_session_id}")
    assert back.headers["Location"].endswith(f"/billing/payments/{payment.id}/success")
    page = client.get(f"/billing/payments/{payment.id}/success").get_data(as_text=True)
    assert "crediting" in page and 'hx-trigger="every 2s"' in page
    bs.deliver(client, bs.session_event(payment))
    fragment = client.get(f"/billing/payments/{payment.id}/success", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "HX-Request" in fragment.headers["Vary"]
    assert "1,200 credits were added" in body and "every 2s" not in body


def test_slow_payment_says_plainly_it_is_still_pending(
    client, login, make, shop, fake_stripe, app, monkeypatch
):
    monkeypatch.setitem(app.config, "CHECKOUT_POLL_SECONDS", 0)
    login(make.customer())
    buy(client, shop.pack, "y" * 32)
    payment = db.session.scalar(select(Payment))
    page = client.get(f"/billing/payments/{payment.id}/success").get_data(as_text=True)
    assert "still pending" in page and "every 2s" not in page


def test_cancel_returns_to_billing_with_nothing_charged(client, login, make, shop, fake_stripe):
    login(make.customer())
    buy(client, shop.pack, "z" * 32)
    cancel_url = fake_stripe.requests[0]["form"]["cancel_url"]
    page = client.get(cancel_url).get_data(as_text=True)
    assert "Checkout cancelled. Nothing was charged." in page


def test_org_manager_buys_for_the_shared_bank(client, login, make, shop, fake_stripe):
    org = make.OrganizationFactory(name="Acme")
    shared = bs.bank(shop.plan, organization=org)
    manager = make.customer(organization=org, is_org_manager=True)
    login(manager)
    page = client.get("/billing/").get_data(as_text=True)
    assert "Acme&#39;s shared bank" in page
    buy(client, shop.pack, nonce_of(page))
    payment = db.session.scalar(select(Payment))
    assert payment.account_id == shared.id and payment.user_id == manager.id
    assert fake_stripe.requests[0]["form"]["metadata[account_id]"] == str(shared.id)


def test_member_who_is_not_manager_cannot_buy_for_the_shared_bank(client, login, make, shop, fake_stripe):
    org = make.OrganizationFactory(name="Acme")
    bs.bank(shop.plan, organization=org)
    make.customer(organization=org, is_org_manager=True, name="Carol Carter")
    login(make.customer(organization=org))
    page = client.get("/billing/").get_data(as_text=True)
    assert "only the organization&#39;s manager buys credits for it (ask Carol Carter)" in page
    assert "disabled" in page
    response = buy(client, shop.pack, "m" * 32)
    assert response.status_code == 303
    assert "only the organization&#39;s manager" in client.get("/billing/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Payment.id))) == 0 and not fake_stripe.requests


def test_inactive_pack_cannot_be_bought(client, login, make, shop, fake_stripe):
    old = bs.pack("Old", active=False)
    login(make.customer())
    buy(client, old, "o" * 32)
    assert db.session.scalar(select(func.count(Payment.id))) == 0 and not fake_stripe.requests


def test_without_keys_customers_see_that_card_payments_are_not_set_up(client, login, make, shop):
    login(make.customer())
    page = client.get("/billing/").get_data(as_text=True)
    assert "Card payments are not set up" in page and "Buy Team" not in page
    buy(client, shop.pack, "k" * 32)
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_admin_phone_order_shows_the_link_and_queues_the_email(client, login, make, shop, fake_stripe):
    customer = make.customer(email="phone@example.com")
    admin = make.admin()
    login(admin)
    form = client.get("/admin/billing/phone-order").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="email"[^>]*>', form).group(0)
    assert 'type="email"' in field  # a phone's keyboard with "@", the browser's own check
    data = {"email": "phone@example.com", "pack_id": shop.pack.id, "nonce": nonce_of(form)}
    page = client.post("/admin/billing/phone-order", data=data).get_data(as_text=True)
    payment = db.session.scalar(select(Payment))
    link = f"http://localhost/billing/payments/{payment.id}/pay"
    assert link in page and "queued for e-mail to phone@example.com" in page
    assert client.get(link).headers["Location"] == "https://checkout.stripe.test/pay/cs_test_1"
    assert payment.user_id == customer.id and payment.started_by_id == admin.id
    assert payment.link_email_status == "queued" and payment.account.user_id == customer.id


def test_a_phone_order_with_no_pack_on_sale_says_so_instead_of_an_empty_choice(client, login, make):
    login(make.admin())
    page = client.get("/admin/billing/phone-order").get_data(as_text=True)
    assert "No credit pack is on sale" in page and 'href="/admin/billing/packs/new"' in page
    assert 'name="pack_id"' not in page and markup_problems(page) == []


def test_phone_order_for_an_unknown_customer_is_refused(client, login, make, shop, fake_stripe):
    login(make.admin())
    data = {"email": "nobody@example.com", "pack_id": shop.pack.id, "nonce": "p" * 32}
    page = client.post("/admin/billing/phone-order", data=data).get_data(as_text=True)
    assert "No active customer has that e-mail address." in page
    assert not fake_stripe.requests


def test_agents_do_not_buy_credit_packs(client, login, make, shop, fake_stripe):
    login(make.technician())
    assert "Buy Team" not in client.get("/billing/").get_data(as_text=True)
    buy(client, shop.pack, "t" * 32)
    assert db.session.scalar(select(func.count(Payment.id))) == 0 and not fake_stripe.requests
