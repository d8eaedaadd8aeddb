"""Two charges crossing a bank's top-up threshold at the same moment buy once (PostgreSQL row locks)."""

import threading

import pytest
from sqlalchemy import func, select

from helpdesk.billing.models import Payment
from helpdesk.credits import ledger as credits
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.credit_helpers import bank

# committing: each charge runs in its own thread and connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


def test_two_charges_at_once_cross_the_threshold_once(app, make, ref):
    customer = make.customer()
    account = bank("Pay as you go", 300, user=customer)
    pack = bs.pack("Team", credits=1200, price=10000)
    bs.auto_top_up(account, customer, pack, provider="stripe", customer="cus_1", card=bs.CARD_OK)
    db.session.commit()
    account_id = account.id  # the threads must not touch the main session's objects
    barrier, errors = threading.Barrier(2), []

    def charge(key):
        with app.app_context():
            try:
                barrier.wait()
                credits.post_entry(account_id, -150, "charge", idempotency_key=key)
                db.session.commit()
            except Exception as exc:  # reported below: a thread's failure must fail the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=charge, args=(f"race:{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.kind == "top_up")) == 1
    assert credits.ledger_mismatches() == []
