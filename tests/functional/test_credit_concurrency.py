"""Concurrency on PostgreSQL: 50 threads race for a bank of 1,000 credits through the services."""

import threading

import pytest
from sqlalchemy import func, select

from helpdesk.accounts.models import User
from helpdesk.credits import ledger as credits
from helpdesk.credits import submission, time_entries
from helpdesk.credits.models import LedgerEntry, TimeEntry
from helpdesk.errors import InsufficientCredits
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from tests.credit_helpers import balance_of, bank
from tests.races import run_at_once

# committing: the threads work through their own connections and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]
THREADS = 50


def race(app, work):
    """Run `work(i)` in THREADS threads, each with its own app context and session; returns outcomes."""
    db.session.commit()  # the set-up (factories only flush), for the threads' own sessions
    barrier = threading.Barrier(THREADS)
    outcomes = []

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                work(i)
                db.session.commit()
                outcomes.append("ok")
            except InsufficientCredits:
                db.session.rollback()
                outcomes.append("short")
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                db.session.rollback()
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    run_at_once(run, range(THREADS))
    return outcomes


def test_fifty_urgent_submissions_against_a_bank_of_1000(app, make, ref):
    customer = make.customer()
    account = bank("Business", 1000, user=customer)
    customer_id, category_id, urgent_id = customer.id, ref.categories["IT"].id, ref.priorities["Urgent"].id

    def submit(i):
        submission.submit_ticket(
            db.session.get(User, customer_id),
            subject=f"Outage {i}",
            body="Down",
            category_id=category_id,
            priority_id=urgent_id,
            submission_key=f"race-{i}",
        )

    outcomes = race(app, submit)
    assert sorted(set(outcomes)) == ["ok", "short"] and outcomes.count("ok") == 4
    assert db.session.scalar(select(func.count(Ticket.id))) == 4
    assert balance_of(account) == 0
    charged = set(db.session.scalars(select(LedgerEntry.ticket_id).where(LedgerEntry.kind == "charge")))
    assert charged == set(db.session.scalars(select(Ticket.id)))  # no orphan charge, no free ticket
    assert credits.ledger_mismatches() == []


def test_fifty_time_entries_against_a_bank_of_1000(app, make, ref):
    customer = make.customer()
    account = bank("Time bank", 1000, user=customer)
    agent = make.technician(ref.categories["IT"])
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    agent_id, ticket_id = agent.id, ticket.id

    def log(i):
        time_entries.log_time(
            db.session.get(Ticket, ticket_id), db.session.get(User, agent_id), 250, f"Work {i}"
        )

    outcomes = race(app, log)
    assert outcomes == ["ok"] * THREADS  # logged time is never lost
    entries = db.session.scalars(select(TimeEntry)).all()
    assert len(entries) == THREADS
    assert sum(1 for e in entries if e.billed == 250) == 4
    assert sum(1 for e in entries if e.unbilled) == THREADS - 4
    assert balance_of(account) == 0
    assert credits.ledger_mismatches() == []


def test_fifty_copies_of_one_log_time_form_make_one_entry_and_one_charge(app, make, ref):
    customer = make.customer()
    account = bank("Time bank", 1000, user=customer)
    agent = make.technician(ref.categories["IT"])
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    agent_id, ticket_id = agent.id, ticket.id

    def log(_i):
        time_entries.log_time(
            db.session.get(Ticket, ticket_id), db.session.get(User, agent_id), 30, "Call", "same-form"
        )

    outcomes = race(app, log)
    assert outcomes == ["ok"] * THREADS  # every copy gets the one entry back
    assert db.session.scalar(select(func.count(TimeEntry.id))) == 1
    assert balance_of(account) == 970
    assert credits.ledger_mismatches() == []


def test_fifty_copies_of_one_submission_make_one_ticket_and_one_charge(app, make, ref):
    customer = make.customer()
    account = bank("Business", 1000, user=customer)
    customer_id, category_id, urgent_id = customer.id, ref.categories["IT"].id, ref.priorities["Urgent"].id

    def submit(_i):
        submission.submit_ticket(
            db.session.get(User, customer_id),
            subject="Double click",
            body="Down",
            category_id=category_id,
            priority_id=urgent_id,
            submission_key="same-form",
        )

    outcomes = race(app, submit)
    assert outcomes == ["ok"] * THREADS  # every copy gets the one ticket back
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    assert db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "charge")) == 1
    assert balance_of(account) == 750
