"""A double click whose two requests run at once on two app servers (PostgreSQL: the second insert
waits for the first's unique key) starts one subscription or one card setup, and neither answers 500."""

import threading

import pytest
from sqlalchemy import func, select

from helpdesk.billing.models import AutoTopUp, PlanPrice, PlanSubscription
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.credit_helpers import bank, plan

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


def post_at_once(app, login, user, url, data, copies=2):
    """The same form posted `copies` times at once, each from its own client; the status codes."""
    clients = [app.test_client() for _ in range(copies)]
    for each in clients:
        login(user, as_client=each)
    db.session.commit()
    barrier, codes = threading.Barrier(copies), []

    def send(each):
        barrier.wait()
        try:
            codes.append(each.post(url, data=data).status_code)
        except Exception:  # what the test client raises is what a browser gets as a 500
            codes.append(500)

    threads = [threading.Thread(target=send, args=(each,)) for each in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.expire_all()
    return sorted(codes)


def test_subscribe_clicked_twice_at_once_starts_one_subscription(app, login, fake_stripe, customer, ref):
    db.session.add(PlanPrice(plan_id=plan("Business").id, stripe_price_id="price_business"))
    data = {"plan_id": plan("Business").id, "nonce": "n" * 20}
    assert post_at_once(app, login, customer, "/billing/subscribe", data) == [303, 303]
    assert db.session.scalar(select(func.count(PlanSubscription.id))) == 1


def test_save_a_card_clicked_twice_at_once_makes_one_rule(app, login, fake_stripe, customer):
    pack = bs.pack("Team", credits=1200, price=10000)
    data = {"threshold": 200, "pack_id": pack.id, "enabled": "y", "nonce": "t" * 20, "action": "card"}
    assert post_at_once(app, login, customer, "/billing/top-up", data) == [303, 303]
    assert db.session.scalar(select(func.count(AutoTopUp.id))) == 1
