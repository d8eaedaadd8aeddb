"""The refund paths racing on PostgreSQL: the sweep, a late reply and the customer's close of the
same paid tickets at the same moment give exactly one refund per ticket and target."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.accounts.models import User
from helpdesk.credits import guarantee, ledger
from helpdesk.credits.models import LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import Ticket
from tests.credit_helpers import balance_of, bank, urgent_ticket
from tests.races import run_at_once

# committing: the threads work through their own connections and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]
TICKETS = 6


def test_sweep_late_reply_and_close_race_for_the_same_refund(app, make, ref):
    alice, agent = make.customer(), make.technician(ref.categories["IT"])
    account = bank("Business", 5000, user=alice)
    ids = []
    for n in range(TICKETS):
        ticket = urgent_ticket(alice, ref, f"race-{n}", subject=f"Down {n}")
        ticket.due_at = utcnow() - timedelta(minutes=1)  # the reply-by time has just passed
        ids.append(ticket.id)
    db.session.commit()
    alice_id, agent_id = alice.id, agent.id
    barrier = threading.Barrier(3)
    errors = []

    def run(work):
        with app.app_context():
            try:
                barrier.wait()
                work()
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    def sweep():
        guarantee.sla_sweep(commit_each=True)

    def reply():
        for ticket_id in ids:
            lifecycle.add_message(db.session.get(Ticket, ticket_id), db.session.get(User, agent_id), "Sorry!")
            db.session.commit()

    def close():
        for ticket_id in reversed(ids):
            lifecycle.close_ticket(db.session.get(Ticket, ticket_id), db.session.get(User, alice_id))
            db.session.commit()

    run_at_once(run, (sweep, reply, close))
    assert errors == []
    db.session.expire_all()
    refunds = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == "refund", LedgerEntry.ticket_id.in_(ids))
    ).all()
    assert sorted(e.ticket_id for e in refunds) == sorted(ids)  # one per ticket, whichever path won
    assert all(e.idempotency_key == f"sla:{e.ticket_id}" and e.amount == 250 for e in refunds)
    assert balance_of(account) == 5000
    assert ledger.ledger_mismatches() == [] and ledger.paid_credit_mismatches() == []
    assert ledger.running_balance_mismatches() == []
