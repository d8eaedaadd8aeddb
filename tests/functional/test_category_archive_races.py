"""The last open categories archived at the same moment by two admins on PostgreSQL: the desk
keeps one open category (the open categories are locked before counting, categories.set_archived),
so customers can still open tickets. SQLite takes the write lock at BEGIN IMMEDIATE: no race there."""

import threading

import pytest
from sqlalchemy import select

from helpdesk.accounts.models import User
from helpdesk.actions import perform
from helpdesk.extensions import db
from helpdesk.tickets import categories
from helpdesk.tickets.models import Category
from tests.races import run_at_once

# committing: the threads work through their own connections and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


def test_two_admins_archiving_the_last_two_open_categories_at_once_leave_one_open(app, make, ref):
    admins = [make.admin(name="Ada Admin").id, make.admin(name="Bob Admin").id]
    ref.categories["Billing"].archived = True  # two open categories left: IT and Sales
    db.session.commit()
    targets = [ref.categories["IT"].id, ref.categories["Sales"].id]
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run(n):
        with app.app_context():
            try:
                actor = db.session.get(User, admins[n])
                category = db.session.get(Category, targets[n])
                barrier.wait()
                outcome = perform(categories.set_archived, actor, category, True)
                outcomes.append(outcome.ok or outcome.message)
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    for _ in range(5):  # a few rounds: without the lock the race is lost only sometimes
        run_at_once(run, range(2))
        assert errors == []
        db.session.expire_all()
        still_open = db.session.scalars(select(Category.name).where(Category.archived.is_(False))).all()
        assert len(still_open) == 1, (still_open, outcomes)
        assert outcomes.count(True) == 1
        assert any("is the last open category" in str(o) for o in outcomes)
        for category_id in targets:  # both open again for the next round
            db.session.get(Category, category_id).archived = False
        db.session.commit()
        outcomes.clear()
