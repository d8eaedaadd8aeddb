"""Saved views saved at the same moment on PostgreSQL (issue 16 item 2): an agent's cap of
MAX_PER_AGENT holds when several saves race for the last places (the owner's row is locked before
counting, saved_views.create). SQLite takes the write lock at BEGIN IMMEDIATE: no race there."""

import threading

import pytest
from sqlalchemy import func, select

from helpdesk.accounts.models import User
from helpdesk.actions import perform
from helpdesk.extensions import db
from helpdesk.tickets import saved_views
from helpdesk.tickets.saved_view_models import SavedView
from tests.races import run_at_once

# committing: the threads work through their own connections and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]
RACERS = 6


def test_concurrent_saves_never_pass_the_cap(app, make, ref):
    agent = make.technician(ref.categories["IT"])
    for n in range(saved_views.MAX_PER_AGENT - 1):  # one place left
        db.session.add(SavedView(owner_id=agent.id, name=f"View {n}", query=f"q=x{n}"))
    db.session.commit()
    agent_id = agent.id
    barrier = threading.Barrier(RACERS)
    outcomes, errors = [], []

    def run(n):
        with app.app_context():
            try:
                owner = db.session.get(User, agent_id)
                barrier.wait()
                outcome = perform(saved_views.create, owner, f"Racing {n}", f"status=open&q=r{n}")
                outcomes.append(outcome.ok if outcome.ok else outcome.message)
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    for _ in range(3):  # a few rounds: each leaves one place, for which all race
        run_at_once(run, range(RACERS))
        assert errors == []
        assert outcomes.count(True) == 1, outcomes
        refused = [o for o in outcomes if o is not True]
        assert len(refused) == RACERS - 1
        assert all(f"already have {saved_views.MAX_PER_AGENT} saved views" in o for o in refused)
        db.session.expire_all()
        count = db.session.scalar(select(func.count()).where(SavedView.owner_id == agent_id))
        assert count == saved_views.MAX_PER_AGENT
        # free the place again for the next round
        newest = db.session.scalar(
            select(SavedView).where(SavedView.owner_id == agent_id).order_by(SavedView.id.desc()).limit(1)
        )
        db.session.delete(newest)
        db.session.commit()
        outcomes.clear()
