"""Organization services without HTTP: names, members, moves, managers and the grouped counts."""

import threading

import pytest

from helpdesk.accounts import organizations
from helpdesk.accounts.models import AuditEvent, Organization, User
from helpdesk.credits import ledger
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from tests import credit_helpers


@pytest.fixture
def admin(make):
    return make.admin()


def events(kind):
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
    ).all()


def test_names_are_unique_ignoring_case_and_spacing(admin):
    created = organizations.create_organization(admin, "  Acme   Corp ")
    assert created.name == "Acme Corp"
    with pytest.raises(ValidationFailed, match="An organization named “acme corp” already exists."):
        organizations.create_organization(admin, "acme corp")
    with pytest.raises(ValidationFailed, match="Enter an organization name."):
        organizations.create_organization(admin, "  ")
    with pytest.raises(ValidationFailed, match="at most 200"):
        organizations.rename_organization(admin, created, "x" * 201)
    assert [e.new_value for e in events("organization")] == ["created Acme Corp"]


def test_rename_to_its_own_name_in_another_case_is_allowed_and_to_another_refused(admin, make):
    acme = make.OrganizationFactory(name="Acme")
    make.OrganizationFactory(name="Globex")
    organizations.rename_organization(admin, acme, "ACME")
    assert acme.name == "ACME"
    with pytest.raises(ValidationFailed, match="already exists"):
        organizations.rename_organization(admin, acme, "globex")
    unchanged = organizations.rename_organization(admin, acme, "ACME")
    assert unchanged is acme and len(events("organization")) == 1


def test_add_member_refuses_agents_and_strangers(admin, make, ref):
    acme = make.OrganizationFactory()
    tech = make.technician(ref.categories["IT"], email="tech@example.test")
    with pytest.raises(ValidationFailed, match="is an agent"):
        organizations.add_member(admin, acme, "tech@example.test")
    with pytest.raises(ValidationFailed, match="No customer has this e-mail address."):
        organizations.add_member(admin, acme, "ghost@example.test")
    assert tech.organization_id is None and events("org_member") == []


def test_adding_twice_changes_nothing(admin, make):
    acme = make.OrganizationFactory()
    dave = make.customer(email="dave@example.test")
    assert organizations.add_member(admin, acme, "dave@example.test") == (dave, True)
    assert organizations.add_member(admin, acme, " Dave@Example.test ") == (dave, False)
    assert len(events("org_member")) == 1


def test_a_move_needs_confirmation_and_drops_the_manager_flag(admin, make):
    acme, globex = make.OrganizationFactory(name="Acme"), make.OrganizationFactory(name="Globex")
    erin = make.customer(email="erin@example.test", organization_id=globex.id, is_org_manager=True)
    with pytest.raises(organizations.MoveConfirmationNeeded) as raised:
        organizations.add_member(admin, acme, "erin@example.test")
    assert raised.value.current.id == globex.id and erin.organization_id == globex.id
    organizations.add_member(admin, acme, "erin@example.test", confirmed=True)
    assert erin.organization_id == acme.id and erin.is_org_manager is False
    assert [(e.old_value, e.new_value) for e in events("org_member")] == [("Globex", "Acme")]


def test_remove_member_clears_manager_and_refuses_non_members(admin, make):
    acme = make.OrganizationFactory(name="Acme")
    carol = make.customer(organization_id=acme.id, is_org_manager=True)
    stranger = make.customer()
    with pytest.raises(NotFound):
        organizations.remove_member(admin, acme, stranger)
    organizations.remove_member(admin, acme, carol)
    assert carol.organization_id is None and carol.is_org_manager is False
    assert [(e.old_value, e.new_value) for e in events("org_member")] == [("Acme", None)]


def test_several_managers_and_toggling_is_idempotent(admin, make):
    acme = make.OrganizationFactory(name="Acme")
    carol, dave = make.customer(organization_id=acme.id), make.customer(organization_id=acme.id)
    assert organizations.set_manager(admin, acme, carol, True) is True
    assert organizations.set_manager(admin, acme, dave, True) is True
    assert organizations.set_manager(admin, acme, dave, True) is False
    assert carol.is_org_manager and dave.is_org_manager
    organizations.set_manager(admin, acme, carol, False)
    assert not carol.is_org_manager
    assert [e.new_value for e in events("org_manager")] == [
        "manager of Acme",
        "manager of Acme",
        "member of Acme",
    ]
    with pytest.raises(NotFound):
        organizations.set_manager(admin, acme, make.customer(), True)


def test_counts_and_banks_for_a_page_of_organizations(make, ref):
    acme, empty = make.OrganizationFactory(), make.OrganizationFactory()
    for _ in range(3):
        make.customer(organization_id=acme.id)
    bank = credit_helpers.bank("Pay as you go", 500, organization=acme)
    ids = [acme.id, empty.id]
    assert organizations.member_counts(ids) == {acme.id: 3, empty.id: 0}
    assert ledger.banks_by_organization(ids) == {acme.id: bank}
    assert organizations.member_counts([]) == {} and ledger.banks_by_organization([]) == {}


def test_search_escapes_like_wildcards(make):
    make.OrganizationFactory(name="100% Cotton")
    make.OrganizationFactory(name="1000 Cotton")
    found = db.session.scalars(organizations.organization_list("100%")).all()
    assert [o.name for o in found] == ["100% Cotton"]
    assert db.session.scalar(db.select(db.func.count(Organization.id))) == 2


@pytest.mark.postgres_only
@pytest.mark.committing  # two threads, each with its own connection, race on committed rows
def test_two_admins_adding_one_customer_at_once_never_move_them_unconfirmed(app, make):
    """Both see a customer without organization; the row lock makes the second see the first's add."""
    admin_id = make.admin().id
    org_ids = [make.OrganizationFactory(name="Acme").id, make.OrganizationFactory(name="Globex").id]
    erin_id = make.customer(email="erin@example.test").id
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes = []

    def add(org_id):
        with app.app_context():
            admin, org = db.session.get(User, admin_id), db.session.get(Organization, org_id)
            barrier.wait()
            try:
                organizations.add_member(admin, org, "erin@example.test")
                db.session.commit()
                outcomes.append("added")
            except organizations.MoveConfirmationNeeded:
                db.session.rollback()
                outcomes.append("confirm")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(org_id,)) for org_id in org_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["added", "confirm"]
    db.session.expire_all()
    assert db.session.get(User, erin_id).organization_id in org_ids
    assert len(events("org_member")) == 1
