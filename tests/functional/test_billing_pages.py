"""Billing pages: the demo provider's journey, receipts and admin pages with their access rules."""

import re

import pytest
from sqlalchemy import select

from helpdesk.billing.models import CreditPack, Payment
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditAccount
from helpdesk.demo.seed import seed_credit_packs
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.csv_support import spreadsheet_records


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)


@pytest.fixture
def world(make):
    """A customer with a paid payment, their org manager, a colleague, a stranger and an admin."""
    plan = bs.default_plan()
    org = make.OrganizationFactory()
    buyer = make.customer(organization=org)
    org_bank = bs.bank(plan, organization=org)
    pack = bs.pack()
    paid = bs.payment(org_bank, pack, buyer, status="paid")
    return {
        "plan": plan,
        "pack": pack,
        "payment": paid,
        "buyer": buyer,
        "manager": make.customer(organization=org, is_org_manager=True),
        "colleague": make.customer(organization=org),
        "stranger": make.customer(),
        "technician": make.technician(),
        "admin": make.admin(),
    }


def test_demo_provider_walks_the_whole_journey(client, login, make, demo):
    bs.default_plan()
    pack = bs.pack("Starter", credits=500, price=5000)
    customer = make.customer()
    login(customer)
    page = client.get("/billing/").get_data(as_text=True)
    assert "Demo mode" in page
    response = client.post("/billing/buy", data={"pack_id": pack.id, "nonce": "d" * 32})
    payment = db.session.scalar(select(Payment))
    assert response.headers["Location"].endswith(f"/billing/demo-checkout/{payment.id}")
    checkout = client.get(f"/billing/demo-checkout/{payment.id}").get_data(as_text=True)
    assert "Pay 50.00 USD" in checkout
    paid = client.post(f"/billing/demo-checkout/{payment.id}", data={"action": "pay"})
    assert paid.headers["Location"].endswith(f"/billing/payments/{payment.id}/success")
    assert "500 credits were added" in client.get(paid.headers["Location"]).get_data(as_text=True)
    account = db.session.scalar(select(CreditAccount).where(CreditAccount.user_id == customer.id))
    assert account.balance == 500 and credits.ledger_mismatches() == []


def test_demo_cancel_returns_to_billing_and_expires_the_payment(client, login, make, demo):
    bs.default_plan()
    pack = bs.pack()
    login(make.customer())
    client.post("/billing/buy", data={"pack_id": pack.id, "nonce": "c" * 32})
    payment = db.session.scalar(select(Payment))
    response = client.post(f"/billing/demo-checkout/{payment.id}", data={"action": "cancel"})
    assert "Nothing was charged" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Payment, payment.id).status == "expired"


def test_demo_checkout_is_not_there_without_the_demo_setting(client, world, login):
    login(world["buyer"])
    assert client.get(f"/billing/demo-checkout/{world['payment'].id}").status_code == 404


RECEIPT_ACCESS = [
    ("buyer", 200),
    ("manager", 200),
    ("admin", 200),
    ("colleague", 404),
    ("stranger", 404),
    ("technician", 404),
]


@pytest.mark.parametrize(("who", "status"), RECEIPT_ACCESS)
def test_receipt_access(client, login, world, who, status):
    login(world[who])
    assert client.get(f"/billing/payments/{world['payment'].id}").status_code == status
    assert client.get(f"/billing/payments/{world['payment'].id}/success").status_code == status


def test_receipt_of_a_missing_payment_is_404(client, login, world):
    login(world["admin"])
    assert client.get("/billing/payments/999999").status_code == 404


def test_receipt_shows_the_purchase(client, login, world):
    login(world["buyer"])
    page = client.get(f"/billing/payments/{world['payment'].id}").get_data(as_text=True)
    assert "500" in page and "50.00 USD" in page and world["payment"].stripe_session_id in page


ADMIN_PAGES = [
    "/admin/billing/payments",
    "/admin/billing/packs",
    "/admin/billing/packs/new",
    "/admin/billing/phone-order",
    "/admin/billing/report",
    "/admin/billing/report.csv",
    "/admin/billing/alerts",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("technician", 404), ("manager", 404)])
def test_admin_pages_are_for_admins_only(client, login, world, url, who, status):
    login(world[who])
    assert client.get(url).status_code == status


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/billing/admin/", "/admin/billing/"),
        ("/billing/admin/payments?status=pending", "/admin/billing/payments?status=pending"),
        ("/billing/admin/packs/7/edit", "/admin/billing/packs/7/edit"),
    ],
)
def test_old_billing_admin_addresses_redirect_for_good(client, old, new):
    response = client.get(old)
    assert response.status_code == 308 and response.headers["Location"] == new


def test_an_old_billing_admin_form_posts_on_to_the_new_address(client, login, world):
    login(world["admin"])
    response = client.post("/billing/admin/phone-order", data={})
    assert response.status_code == 308 and response.headers["Location"] == "/admin/billing/phone-order"


def test_the_billing_admin_index_opens_the_payments(client, login, world):
    login(world["admin"])
    response = client.get("/admin/billing/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/billing/payments")


@pytest.mark.parametrize("url", ADMIN_PAGES + ["/billing/"])
def test_billing_pages_need_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(("who", "sees"), [("buyer", True), ("manager", True), ("colleague", False)])
def test_history_shows_my_and_my_org_payments_to_the_manager(client, login, world, who, sees):
    login(world[who])
    page = client.get("/billing/").get_data(as_text=True)
    assert (f"Payment #{world['payment'].id}" in page) is sees


def test_history_is_paginated_with_an_htmx_fragment(client, login, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for _ in range(3):
        bs.payment(world["payment"].account, world["pack"], world["buyer"])
    login(world["buyer"])
    response = client.get("/billing/?page=2", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "HX-Request" in response.headers["Vary"]
    assert "Page 2 of 2" in body


def test_admin_payments_filter_by_status(client, login, world):
    bs.payment(world["payment"].account, world["pack"], world["buyer"], session_id="cs_test_pending_one")
    login(world["admin"])
    response = client.get("/admin/billing/payments?status=pending", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "cs_test_pending_one" in body
    assert world["payment"].stripe_session_id not in body


def test_admin_creates_edits_and_deactivates_a_pack(client, login, world):
    login(world["admin"])
    data = {"name": "Mega", "credits": "10000", "price": "650.00", "currency": "usd", "active": "y"}
    assert client.post("/admin/billing/packs/new", data=data).status_code == 302
    pack = db.session.scalar(select(CreditPack).where(CreditPack.name == "Mega"))
    assert (pack.credits, pack.price, pack.active) == (10000, 65000, True)
    edit = client.get(f"/admin/billing/packs/{pack.id}/edit").get_data(as_text=True)
    assert 'value="650.00"' in edit
    data.pop("active")
    client.post(f"/admin/billing/packs/{pack.id}/edit", data=dict(data, price="600.50"))
    db.session.refresh(pack)
    assert (pack.price, pack.active) == (60050, False)


@pytest.mark.parametrize("price", ["Infinity", "-inf", "NaN", "1e999999"])
def test_a_price_that_is_not_a_number_is_refused_with_a_message(client, login, world, price):
    login(world["admin"])
    data = {"name": "Odd", "credits": "100", "price": price, "currency": "usd", "active": "y"}
    response = client.post("/admin/billing/packs/new", data=data)
    assert response.status_code == 422 and 'value="Odd"' in response.get_data(as_text=True)
    assert db.session.scalar(select(CreditPack).where(CreditPack.name == "Odd")) is None


def test_prices_follow_the_currency_s_decimals(client, login, world):
    """Yen have no cents (Stripe's zero-decimal currencies), dinars have thousandths: entered,
    stored in minor units, and shown back the way the currency writes them."""
    login(world["admin"])
    yen = {"name": "Yen pack", "credits": "500", "price": "5000", "currency": "jpy", "active": "y"}
    assert client.post("/admin/billing/packs/new", data=yen).status_code == 302
    pack = db.session.scalar(select(CreditPack).where(CreditPack.name == "Yen pack"))
    assert pack.price == 5000  # what Stripe is sent as unit_amount: ¥5,000
    assert 'value="5000"' in client.get(f"/admin/billing/packs/{pack.id}/edit").get_data(as_text=True)
    assert "5,000 JPY" in client.get("/admin/billing/packs").get_data(as_text=True)

    page = client.post("/admin/billing/packs/new", data=dict(yen, name="Half yen", price="5000.50"))
    assert "JPY has no smaller unit: enter a whole amount." in page.get_data(as_text=True)
    assert db.session.scalar(select(CreditPack).where(CreditPack.name == "Half yen")) is None

    dinar = dict(yen, name="Dinar pack", price="12.34", currency="kwd")
    assert client.post("/admin/billing/packs/new", data=dinar).status_code == 302
    pack = db.session.scalar(select(CreditPack).where(CreditPack.name == "Dinar pack"))
    assert pack.price == 12340 and "12.340 KWD" in client.get("/admin/billing/packs").get_data(as_text=True)
    page = client.post("/admin/billing/packs/new", data=dict(dinar, name="Odd dinar", price="12.345"))
    assert "must end in 0 in the third decimal" in page.get_data(as_text=True)
    page = client.post(
        "/admin/billing/packs/new", data=dict(yen, name="Cents", price="1.005", currency="usd")
    )
    assert "USD amounts have at most 2 decimals." in page.get_data(as_text=True)


def test_pack_names_are_unique(client, login, world):
    login(world["admin"])
    data = {"name": world["pack"].name, "credits": "1", "price": "1.00", "currency": "usd"}
    response = client.post("/admin/billing/packs/new", data=data)
    assert response.status_code == 422 and "Another pack already has that name." in response.get_data(
        as_text=True
    )


def test_a_pack_with_payments_cannot_be_deleted_but_an_unused_one_can(client, login, world):
    unused = bs.pack("Unused")
    login(world["admin"])
    client.post(f"/admin/billing/packs/{world['pack'].id}/delete", data={"confirmed_action": "yes"})
    client.post(f"/admin/billing/packs/{unused.id}/delete", data={"confirmed_action": "yes"})
    assert db.session.get(CreditPack, world["pack"].id) is not None
    assert db.session.get(CreditPack, unused.id) is None


def test_report_counts_sold_consumed_refunded_and_outstanding(client, login, world):
    account = world["payment"].account
    credits.post_entry(account.id, 500, "purchase", idempotency_key="purchase:x")
    credits.post_entry(account.id, 100, "signup_grant", idempotency_key="grant:x")
    credits.post_entry(account.id, -150, "charge", idempotency_key="charge:x")
    credits.post_entry(account.id, -50, "reversal", idempotency_key="reversal:x", allow_below_floor=True)
    db.session.commit()
    login(world["admin"])
    page = client.get("/admin/billing/report").get_data(as_text=True)
    assert "<svg" in page and "bar-sold" in page and "style=" not in page
    rows = spreadsheet_records(client.get("/admin/billing/report.csv"))
    last = rows[-1]
    assert (last["credits_sold"], last["credits_granted"], last["credits_consumed"]) == ("500", "100", "150")
    assert (last["credits_refunded"], last["credits_outstanding"]) == ("50", "400")


def test_billing_alert_shows_as_a_banner_for_admins_until_dealt_with(client, login, world):
    from helpdesk.billing.alerts import alert

    item = alert("refund_debt", "Bank went below zero.", world["payment"])
    db.session.commit()
    login(world["admin"])
    assert "1 billing alert need attention." in client.get("/admin/billing/payments").get_data(as_text=True)
    client.post(f"/admin/billing/alerts/{item.id}/resolve")
    assert "billing alert" not in client.get("/admin/billing/payments").get_data(as_text=True)


def test_seeded_packs_are_created_once_in_the_configured_currency(app, monkeypatch):
    monkeypatch.setitem(app.config, "CURRENCY", "EUR")
    seed_credit_packs()
    seed_credit_packs()
    db.session.commit()
    packs = db.session.scalars(select(CreditPack).order_by(CreditPack.price)).all()
    assert [(p.credits, p.price, p.currency) for p in packs] == [
        (500, 5000, "eur"),
        (1200, 10000, "eur"),
        (3000, 22500, "eur"),
    ]


def test_the_report_and_the_phone_order_write_numbers_with_thousands_separators(client, login, world):
    """Numbers one way everywhere (1,500, never 1500): the revenue report's table, its chart's
    axis and tooltips, and the phone order's packs wrote them bare."""
    account = world["payment"].account
    credits.post_entry(account.id, 1500, "purchase", idempotency_key="purchase:big")
    credits.post_entry(account.id, -1250, "charge", idempotency_key="charge:big")
    bs.pack("Team", credits=1200)
    db.session.commit()
    login(world["admin"])
    page = client.get("/admin/billing/report").get_data(as_text=True)
    assert '<td class="num">1,500</td>' in page and '<td class="num">1,250</td>' in page
    assert "Consumed, " in page and ": 1,250</title>" in page  # a bar's tooltip
    assert re.search(r">\d{4,}<", page) is None, re.search(r">\d{4,}<", page)
    assert "Team: 1,200 credits" in client.get("/admin/billing/phone-order").get_data(as_text=True)
