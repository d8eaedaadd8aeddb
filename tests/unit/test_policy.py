"""The policy module as a table: roles x actions on one ticket."""

import pytest

from helpdesk import policy
from helpdesk.extensions import db
from helpdesk.tickets.models import Subscription, Ticket


@pytest.fixture
def world(make, ref):
    acme = make.OrganizationFactory(name="Acme")
    requester = make.customer(organization=acme)
    w = {
        "requester": requester,
        "manager": make.customer(organization=acme, is_org_manager=True),
        "colleague": make.customer(organization=acme),
        "stranger": make.customer(),
        "subscriber": make.customer(),
        "it_tech": make.technician(ref.categories["IT"]),
        "sales_tech": make.technician(ref.categories["Sales"]),
        "admin": make.admin(),
        "inactive_admin": make.admin(active=False),
    }
    ticket = make.ticket(
        requester=requester, category=ref.categories["IT"], priority=ref.priorities["Normal"]
    )
    db.session.add(Subscription(ticket_id=ticket.id, user_id=w["subscriber"].id))
    db.session.commit()
    w["ticket"] = ticket
    return w


MATRIX = {
    # role:          view  reply  note   close  edit   listed
    "requester": (True, True, False, True, False, True),
    "manager": (True, True, False, True, False, True),
    "colleague": (False, False, False, False, False, False),
    "stranger": (False, False, False, False, False, False),
    "subscriber": (True, True, False, False, False, True),
    "it_tech": (True, True, True, True, True, True),
    "sales_tech": (False, False, False, False, False, False),
    "admin": (True, True, True, True, True, True),
    "inactive_admin": (False, False, False, False, False, False),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_access_matrix(world, role):
    user, ticket = world[role], world["ticket"]
    listed = ticket.id in db.session.scalars(db.select(Ticket.id).where(policy.ticket_visibility(user))).all()
    actual = (
        policy.can_view_ticket(user, ticket),
        policy.can_reply(user, ticket),
        policy.can_write_internal_note(user, ticket),
        policy.can_close_or_reopen(user, ticket),
        policy.can_edit_ticket(user, ticket),
        listed,
    )
    assert actual == MATRIX[role]


def test_the_list_query_and_the_object_check_agree(world):
    for role in MATRIX:
        user = world[role]
        listed = set(db.session.scalars(db.select(Ticket.id).where(policy.ticket_visibility(user))))
        assert (world["ticket"].id in listed) == policy.can_view_ticket(user, world["ticket"]), role


def test_closed_ticket_takes_replies_only_from_agents(world):
    world["ticket"].status = "closed"
    db.session.commit()
    assert not policy.can_reply(world["requester"], world["ticket"])
    assert policy.can_reply(world["it_tech"], world["ticket"])


def test_only_permitted_agents_can_be_assigned(world, make):
    ticket = world["ticket"]
    assert policy.can_be_assigned(world["it_tech"], ticket)
    assert policy.can_be_assigned(world["admin"], ticket)
    assert not policy.can_be_assigned(world["sales_tech"], ticket)
    assert not policy.can_be_assigned(world["subscriber"], ticket)
    assert not policy.can_be_assigned(world["inactive_admin"], ticket)


def test_anonymous_sees_nothing(world):
    from flask_login import AnonymousUserMixin

    anonymous = AnonymousUserMixin()
    assert not policy.can_view_ticket(anonymous, world["ticket"])
    assert db.session.scalars(db.select(Ticket).where(policy.ticket_visibility(anonymous))).all() == []
