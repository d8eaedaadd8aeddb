"""User and category services without HTTP: the last-admin rule under concurrency, names, seats."""

import threading

import pytest

from helpdesk.accounts import users
from helpdesk.accounts.models import User
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import categories


def test_category_names_are_unique_ignoring_case_and_spacing(make, ref):
    admin = make.admin()
    with pytest.raises(ValidationFailed, match="already exists"):
        categories.create_category(admin, "  it ")
    created = categories.create_category(admin, "Field   service")
    assert created.name == "Field service"
    with pytest.raises(ValidationFailed, match="at most 100"):
        categories.rename_category(admin, created, "x" * 101)


def test_renaming_to_its_own_name_in_another_case_is_allowed(make, ref):
    admin = make.admin()
    categories.rename_category(admin, ref.categories["IT"], "it")
    assert ref.categories["IT"].name == "it"


def test_demoting_a_customer_changes_nothing_else(make):
    admin = make.admin()
    customer = make.customer()
    assert users.change_role(admin, customer, "customer") is False


@pytest.mark.postgres_only
@pytest.mark.committing  # two threads, each with its own connection, race on committed rows
def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, make):
    """Both requests pass the check on their own; the row locks make the second see the first."""
    ids = [make.admin(email="a@example.test").id, make.admin(email="b@example.test").id]
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes = []

    def demote_the_other(actor_id, target_id):
        with app.app_context():
            actor, target = db.session.get(User, actor_id), db.session.get(User, target_id)
            barrier.wait()
            try:
                users.change_role(actor, target, "technician")
                db.session.commit()
                outcomes.append("demoted")
            except NotAllowed:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=demote_the_other, args=pair) for pair in (ids, ids[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["demoted", "refused"]
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.role == "admin")) == 1
