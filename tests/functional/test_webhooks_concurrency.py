"""Two workers at once never send the same delivery twice (PostgreSQL: FOR UPDATE SKIP LOCKED)."""

import threading

import pytest

from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.webhooks import delivery
from tests.functional.webhook_support import Receiver, add_endpoint, attempts

# committing: each worker runs in its own thread and connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


def test_two_workers_share_the_due_deliveries_without_sending_one_twice(app, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    monkeypatch.setitem(app.config, "WEBHOOK_WORKER_BATCH", 3)
    admin, alice = make.admin(), make.customer()
    with Receiver() as receiver:
        receiver.delay = 0.05
        endpoint = add_endpoint(admin, receiver.url, events=["ticket.created"])
        for n in range(12):
            lifecycle.create_ticket(
                alice,
                subject=f"T{n}",
                body="b",
                category_id=ref.categories["IT"].id,
                priority_id=ref.priorities["Low"].id,
            )
        db.session.commit()
        barrier = threading.Barrier(2)
        delivered = []

        def worker():
            with app.app_context():
                barrier.wait()
                for _ in range(6):
                    delivered.append(delivery.process_due()["webhooks delivered"])
                db.session.remove()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        ids = [r["headers"]["Helpdesk-Event-Id"] for r in receiver.requests]
    assert sum(delivered) == 12 and len(ids) == 12 and len(set(ids)) == 12
    db.session.expire_all()
    assert len(attempts(endpoint)) == 12
