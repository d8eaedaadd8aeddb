"""A double click whose two requests run at once on two app servers (PostgreSQL: the second insert
waits for the first's unique key) starts one subscription or one card setup, and neither answers 500."""

import pytest
from sqlalchemy import func, select

from helpdesk.billing.models import AutoTopUp, PlanPrice, PlanSubscription
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.credit_helpers import bank, plan
from tests.races import post_at_once, status_codes

# committing: each request runs in its own thread and connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


@pytest.fixture
def fake_stripe(app, httpserver, monkeypatch):
    return bs.use_fake_stripe(app, httpserver, monkeypatch)


@pytest.fixture
def customer(make, ref):
    user = make.customer()
    bank("Pay as you go", 300, user=user)
    return user


def test_subscribe_clicked_twice_at_once_starts_one_subscription(app, login, fake_stripe, customer, ref):
    db.session.add(PlanPrice(plan_id=plan("Business").id, stripe_price_id="price_business"))
    data = {"plan_id": plan("Business").id, "nonce": "n" * 20}
    assert status_codes(post_at_once(app, login, customer, "/billing/subscribe", data)) == [303, 303]
    assert db.session.scalar(select(func.count(PlanSubscription.id))) == 1


def test_save_a_card_clicked_twice_at_once_makes_one_rule(app, login, fake_stripe, customer):
    pack = bs.pack("Team", credits=1200, price=10000)
    data = {"threshold": 200, "pack_id": pack.id, "enabled": "y", "nonce": "t" * 20, "action": "card"}
    assert status_codes(post_at_once(app, login, customer, "/billing/top-up", data)) == [303, 303]
    assert db.session.scalar(select(func.count(AutoTopUp.id))) == 1
