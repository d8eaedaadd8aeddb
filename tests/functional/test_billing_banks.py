"""Which bank a purchase credits: the one its buyer spends from, through the credit service.

On the seeded plans (the default plan is Free, which does not use credits), with the demo provider.
"""

import pytest
from sqlalchemy import func, select

from helpdesk.billing.models import Payment
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditAccount, LedgerEntry
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.credit_helpers import bank, plan


@pytest.fixture
def shop(app, ref, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    return bs.pack("Team", credits=1200, price=10000)


def buy(client, pack, nonce="n" * 32):
    return client.post("/billing/buy", data={"pack_id": pack.id, "nonce": nonce})


def payments():
    return db.session.scalars(select(Payment)).all()


def test_a_customer_buys_for_their_own_bank(client, login, make, shop):
    alice = make.customer()
    account = bank("Business", 1000, user=alice)
    login(alice)
    page = client.get("/billing/").get_data(as_text=True)
    assert "Your bank" in page and "1,000 credits" in page and "disabled" not in page
    buy(client, shop)
    (payment,) = payments()
    assert payment.account_id == account.id


def test_a_customer_without_a_bank_gets_one_on_the_default_plan(client, login, make, shop):
    plan("Free").is_default, plan("Pay as you go").is_default = False, True
    db.session.commit()
    newcomer = make.customer()
    login(newcomer)
    buy(client, shop)
    account = credits.account_for(newcomer)
    assert account.plan.name == "Pay as you go" and payments()[0].account_id == account.id
    # Opened by the credit service: with the plan's sign-up grant, in the ledger.
    assert account.balance == 100 and credits.ledger_mismatches() == []
    assert db.session.scalar(select(LedgerEntry.kind).where(LedgerEntry.account_id == account.id)) == (
        "signup_grant"
    )


@pytest.mark.parametrize("has_bank", [True, False], ids=["free-bank", "no-bank-free-default"])
def test_a_plan_without_credits_shows_the_packs_disabled_and_refuses(client, login, make, shop, has_bank):
    bob = make.customer()
    if has_bank:
        bank("Free", user=bob)
    login(bob)
    page = client.get("/billing/").get_data(as_text=True)
    assert "on the Free plan, which does not use credits" in page
    assert 'disabled aria-describedby="buy-refusal">Buy Team' in page
    response = buy(client, shop)
    assert response.status_code == 303
    assert "does not use credits" in client.get("/billing/").get_data(as_text=True)
    assert payments() == []
    assert db.session.scalar(select(func.count(CreditAccount.id))) == (1 if has_bank else 0)


@pytest.fixture
def acme(make):
    org = make.OrganizationFactory(name="Acme")
    shared = bank("Pay as you go", 500, organization=org)
    carol = make.customer(organization=org, is_org_manager=True, name="Carol Carter")
    dave = make.customer(organization=org, name="Dave Dunn", email="dave@example.com")
    return shared, carol, dave


def test_the_manager_buys_for_the_shared_bank(client, login, shop, acme):
    shared, carol, _dave = acme
    login(carol)
    page = client.get("/billing/").get_data(as_text=True)
    assert "Acme&#39;s shared bank" in page and "500 credits" in page
    buy(client, shop)
    (payment,) = payments()
    assert payment.account_id == shared.id and payment.user_id == carol.id


def test_a_member_is_told_the_manager_buys_and_gets_no_checkout(client, login, shop, acme):
    _shared, _carol, dave = acme
    login(dave)
    page = client.get("/billing/").get_data(as_text=True)
    assert "Your tickets are paid from Acme&#39;s shared bank" in page and "ask Carol Carter" in page
    assert 'disabled aria-describedby="buy-refusal">Buy Team' in page
    response = buy(client, shop)
    assert response.headers["Location"].endswith("/billing/")  # no checkout page
    assert payments() == []
    assert credits.account_for(dave).organization_id  # no personal bank was opened for them


def test_the_credits_page_offers_buying_only_to_who_may_buy(client, login, shop, acme):
    _shared, carol, dave = acme
    login(dave)
    assert "Buy credits</a>" not in client.get("/portal/credits").get_data(as_text=True).split("<main")[-1]
    login(carol)
    assert 'class="button" href="/billing/"' in client.get("/portal/credits").get_data(as_text=True)


def test_a_phone_order_for_a_member_is_refused_with_the_reason(client, login, make, shop, acme):
    login(make.admin())
    data = {"email": acme[2].email, "pack_id": shop.id, "nonce": "p" * 32}
    page = client.post("/admin/billing/phone-order", data=data).get_data(as_text=True)
    assert "Dave Dunn&#39;s tickets are paid from Acme&#39;s shared bank" in page
    assert payments() == []


def test_a_member_of_an_organization_without_a_shared_bank_buys_for_their_own(client, login, make, shop):
    org = make.OrganizationFactory()
    member = make.customer(organization=org)
    own = bank("Pay as you go", 0, user=member)
    login(member)
    buy(client, shop)
    assert payments()[0].account_id == own.id


def test_a_member_s_empty_payment_history_says_who_buys_not_to_buy_a_pack(client, login, shop, acme):
    _shared, carol, dave = acme
    login(carol)
    assert "Buy a pack above to add credits" in client.get("/billing/").get_data(as_text=True)
    buy(client, shop)  # the manager's purchase: in her history and on the statement, not in Dave's
    login(dave)
    page = " ".join(client.get("/billing/").get_data(as_text=True).split())
    assert "Buy a pack above" not in page
    assert (
        "You have no card payments. Credits for <span hx-disable>Acme&#39;s shared bank</span> are bought"
        ' by the organization\'s managers: their purchases are on its <a href="/portal/credits">statement</a>.'
    ) in page
