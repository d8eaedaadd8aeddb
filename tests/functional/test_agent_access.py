"""Who may use the agent console: role x action matrix (forbidden answers 404 or a login redirect)."""

import pytest

from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Subscription

from .agent_support import fresh

ROLES = ["admin", "tech_it", "tech_sales", "subscriber", "customer", "anonymous"]
WORKERS = {"admin", "tech_it"}  # may work the IT ticket
AGENTS = {"admin", "tech_it", "tech_sales"}


def act_as(login, desk, role):
    if role == "customer":
        login(desk.requester)
    elif role != "anonymous":
        login(getattr(desk, role))


def refused(response, role):
    if role == "anonymous":
        return response.status_code == 302 and "/login" in response.location
    return response.status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_queue_is_for_agents_only(client, login, desk, role):
    act_as(login, desk, role)
    response = client.get("/agent/")
    if role in AGENTS:
        assert response.status_code == 200
        assert (b"VPN drops" in response.data) == (role in WORKERS)
        assert (b"Quote please" in response.data) == (role in {"admin", "tech_sales"})
    else:
        assert refused(response, role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ["", "/history"])
def test_ticket_page_only_for_agents_who_may_work_it(client, login, desk, role, page):
    act_as(login, desk, role)
    response = client.get(f"/agent/tickets/{desk.it_ticket.id}{page}")
    if role in WORKERS:
        assert response.status_code == 200 and b"VPN drops" in response.data
    else:
        assert refused(response, role)


EDITS = {
    "status": (lambda d: "waiting", lambda d, t: t.status == "waiting"),
    "priority": (lambda d: d.ref.priorities["High"].id, lambda d, t: t.priority.name == "High"),
    "category": (lambda d: d.ref.categories["Billing"].id, lambda d, t: t.category.name == "Billing"),
    "assignee": (lambda d: d.tech_it.id, lambda d, t: t.assignee_id == d.tech_it.id),
    "tags": (lambda d: "vpn, remote", lambda d, t: sorted(t.tag_names) == ["remote", "vpn"]),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("field", list(EDITS))
def test_inline_edit_matrix(client, login, desk, role, field):
    value, applied = EDITS[field]
    act_as(login, desk, role)
    response = client.post(
        f"/agent/tickets/{desk.it_ticket.id}/{field}",
        data={f"{field}-value": value(desk), f"{field}-version": 1},
    )
    ticket = fresh(desk.it_ticket.id)
    if role in WORKERS:
        assert response.status_code == 302 and applied(desk, ticket)
    else:
        assert refused(response, role) and not applied(desk, ticket) and ticket.version == 1


@pytest.mark.parametrize("role", ROLES)
def test_bulk_action_matrix(client, login, desk, role):
    act_as(login, desk, role)
    response = client.post(
        "/agent/bulk",
        data={"selected": [f"{desk.it_ticket.id}.1"], "action": "status", "status": "waiting"},
    )
    ticket = fresh(desk.it_ticket.id)
    if role in WORKERS:
        assert response.status_code == 302 and ticket.status == "waiting"
    elif role == "tech_sales":  # an agent, but the ticket is not theirs: nothing changes
        assert response.status_code == 302 and ticket.status == "new"
        assert b"1 not changed" in client.get(response.location).data
    else:
        assert refused(response, role) and ticket.status == "new"


@pytest.mark.parametrize("role", ROLES)
def test_reply_matrix(client, login, desk, role):
    act_as(login, desk, role)
    response = client.post(
        f"/agent/tickets/{desk.it_ticket.id}/reply",
        data={"reply-body": "Looking into it", "reply-action": "note"},
    )
    notes = db.session.scalars(db.select(Message).where(Message.internal.is_(True))).all()
    if role in WORKERS:
        assert response.status_code == 302 and len(notes) == 1
    else:
        assert refused(response, role) and notes == []


@pytest.mark.parametrize("role", ROLES)
def test_subscriber_add_matrix(client, login, desk, role):
    act_as(login, desk, role)
    response = client.post(
        f"/agent/tickets/{desk.it_ticket.id}/subscribers", data={"subscriber-email": "newcomer@example.com"}
    )
    created = db.session.scalar(db.select(User).where(User.email == "newcomer@example.com"))
    if role in WORKERS:
        assert response.status_code == 302 and created is not None
    else:
        assert refused(response, role) and created is None


@pytest.mark.parametrize("role", ROLES)
def test_subscriber_remove_matrix(client, login, desk, role):
    act_as(login, desk, role)
    response = client.post(
        f"/agent/tickets/{desk.it_ticket.id}/subscribers/{desk.subscriber.id}/remove",
        data={"confirmed_action": "yes"},
    )
    remaining = db.session.scalars(db.select(Subscription)).all()
    if role in WORKERS:
        assert response.status_code == 302 and remaining == []
    else:
        assert refused(response, role) and len(remaining) == 1


def test_deactivated_agent_is_logged_out_of_the_console(client, login, desk):
    login(desk.tech_it)
    desk.tech_it.active = False
    db.session.commit()
    response = client.get("/agent/")
    assert response.status_code == 302 and "/login" in response.location


def test_unknown_ticket_is_404(client, login, desk):
    login(desk.admin)
    assert client.get("/agent/tickets/999999").status_code == 404
