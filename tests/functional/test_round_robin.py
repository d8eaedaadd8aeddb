"""Round-robin assignment (issue 16 item 8): a category's new unassigned tickets go in turn to its
opted-in technicians who are not away, whatever the channel (portal, mail, on behalf)."""

import threading

import pytest
from sqlalchemy import select

from helpdesk.accounts import availability
from helpdesk.accounts.models import User
from helpdesk.credits import on_behalf, submission
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail.inbound_tickets import default_category
from helpdesk.notices.models import Notice
from helpdesk.tickets import round_robin
from helpdesk.tickets.models import Ticket, TicketEvent
from tests.mail_support import load_eml
from tests.races import run_at_once

HX = {"HX-Request": "true"}


def opt_in(*agents, away=False):
    for agent in agents:
        availability.set_availability(agent, round_robin=True, away=away)


def submit(customer, category, ref, n=0):
    ticket, created = submission.submit_ticket(
        customer, subject=f"Help {n}", body="Please.", category_id=category.id,
        priority_id=ref.priorities["Normal"].id,
    )  # fmt: skip
    assert created
    return ticket


@pytest.fixture
def circle(make, ref, login, client):
    """IT with round-robin on (through the admin page) and three opted-in IT technicians."""
    it = ref.categories["IT"]
    login(make.admin())
    response = client.post(f"/admin/categories/{it.id}/round-robin", data={"enabled": "1"}, headers=HX)
    assert "Round-robin for “IT” on" in response.get_data(as_text=True)
    agents = [make.technician(it, name=f"Tech {i}") for i in range(3)]
    opt_in(*agents)
    page = client.get("/admin/categories").get_data(as_text=True)
    assert "On (3 taking turns)" in page and "Turn on <span" in page  # the other categories
    return it, agents


def test_new_tickets_go_to_each_opted_in_technician_in_turn(circle, make, ref):
    it, agents = circle
    customer = make.customer()
    assignees = [submit(customer, it, ref, n).assignee_id for n in range(4)]
    assert assignees == [agents[0].id, agents[1].id, agents[2].id, agents[0].id]
    notice = db.session.scalars(select(Notice).where(Notice.user_id == agents[1].id)).one()
    assert notice.kind == "assigned" and notice.text.endswith("was assigned to you: round-robin's turn.")
    history = db.session.scalars(select(TicketEvent).where(TicketEvent.field == "assignee")).all()
    assert len(history) == 4 and history[0].actor_id is None and history[0].new_value == "Tech 0"


def test_away_not_opted_in_inactive_and_not_permitted_agents_are_skipped(circle, make, ref):
    it, agents = circle
    opt_in(agents[1], away=True)
    agents[2].active = False
    make.technician(it, name="Not opted in")
    opt_in(make.technician(ref.categories["Sales"], name="Sales only"))
    customer = make.customer()
    assert [submit(customer, it, ref, n).assignee_id for n in range(2)] == [agents[0].id, agents[0].id]
    opt_in(agents[1])  # back from being away: takes their turn again
    assert [submit(customer, it, ref, n).assignee_id for n in range(2, 4)] == [agents[1].id, agents[0].id]


def test_nobody_eligible_leaves_the_ticket_unassigned(circle, make, ref):
    it, agents = circle
    opt_in(*agents, away=True)
    ticket = submit(make.customer(), it, ref)
    assert ticket.assignee_id is None
    assert db.session.scalars(select(Notice)).all() == []


def test_a_category_without_round_robin_assigns_nobody(make, ref):
    sales = ref.categories["Sales"]
    opt_in(make.technician(sales))
    assert submit(make.customer(), sales, ref).assignee_id is None


def test_turning_it_off_stops_it(circle, client, make, ref):
    it, _agents = circle
    response = client.post(f"/admin/categories/{it.id}/round-robin", data={"enabled": "0"})
    assert response.status_code == 302
    assert "Round-robin for “IT” off." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert submit(make.customer(), it, ref).assignee_id is None


def test_only_admins_switch_it(make, ref, login, client):
    login(make.technician(ref.categories["IT"]))
    assert (
        client.post(
            f"/admin/categories/{ref.categories['IT'].id}/round-robin", data={"enabled": "1"}
        ).status_code
        == 404
    )
    assert round_robin.enabled_categories([ref.categories["IT"].id]) == {}


def test_a_ticket_from_mail_and_one_opened_on_behalf_take_their_turn(make, ref):
    category = default_category()
    round_robin.set_enabled(None, category, True)
    first, second = make.technician(category), make.technician(category)
    opt_in(first, second)
    entry = mail_inbound.ingest(load_eml("new_ticket_cc.eml"))
    assert entry.outcome == "new_ticket"
    assert db.session.get(Ticket, entry.ticket_id).assignee_id == first.id
    ticket, created, _charged = on_behalf.open_for_customer(
        make.admin(), email="walkin@example.com", name="Walk In", subject="Phone call", body="Help",
        category_id=category.id, priority_id=ref.priorities["Normal"].id, consent=False, submission_key="k1",
    )  # fmt: skip
    assert created and ticket.assignee_id == second.id


def test_the_portal_form_assigns_and_the_agent_sees_it_in_the_top_bar(circle, make, ref, login, client):
    it, agents = circle
    login(make.customer())
    response = client.post(
        "/portal/tickets/new",
        data={"category": it.id, "priority": ref.priorities["Normal"].id, "subject": "Mouse",
              "body": "Broken", "submission_key": "rr-1"},
    )  # fmt: skip
    assert response.status_code == 302
    login(agents[0])
    assert "Notifications (1)" in client.get("/agent/").get_data(as_text=True)


def test_an_agent_marks_themselves_away_and_the_top_bar_says_so(make, ref, login, client):
    agent = make.technician(ref.categories["IT"])
    login(agent)
    assert "You are away" not in client.get("/agent/").get_data(as_text=True)
    response = client.post("/account/availability", data={"round_robin": "y", "away": "y"})
    assert response.status_code == 302
    page = client.get("/agent/").get_data(as_text=True)
    assert 'href="/account/notifications"><span class="label">You are away</span>' in page
    row = availability.availability(db.session.get(User, agent.id))
    assert row.round_robin and row.away
    client.post("/account/availability", data={"round_robin": "y"})
    assert "You are away" not in client.get("/agent/").get_data(as_text=True)


@pytest.mark.committing  # the threads use their own connections (PostgreSQL: row locks; SQLite: BEGIN IMMEDIATE)
def test_concurrent_creations_share_the_turns_fairly(app, make, ref):
    it = ref.categories["IT"]
    round_robin.set_enabled(None, it, True)
    agents = [make.technician(it) for _ in range(3)]
    opt_in(*agents)
    customers = [make.customer() for _ in range(12)]
    ids, category_id, priority_id = [c.id for c in customers], it.id, ref.priorities["Normal"].id
    db.session.commit()
    barrier, errors = threading.Barrier(len(ids)), []

    def create(i):
        with app.app_context():
            barrier.wait()
            try:
                submission.submit_ticket(
                    db.session.get(User, ids[i]), subject=f"Rush {i}", body="Now.",
                    category_id=category_id, priority_id=priority_id,
                )  # fmt: skip
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    run_at_once(create, range(len(ids)))
    assert errors == []
    db.session.expire_all()
    assignees = db.session.scalars(select(Ticket.assignee_id).order_by(Ticket.id)).all()
    assert sorted(assignees) == sorted([a.id for a in agents] * 4)


def test_whoever_assigns_sees_who_is_away(make, ref, login, client):
    it = ref.categories["IT"]
    away, here = make.technician(it, name="Ivan IT"), make.technician(it, name="Ines IT")
    availability.set_availability(away, round_robin=False, away=True)
    ticket = make.ticket(requester=make.customer(), category=it, priority=ref.priorities["Normal"])
    db.session.commit()
    login(make.admin())
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert f'<option value="{away.id}">Ivan IT (away)</option>' in page
    assert f'<option value="{here.id}">Ines IT</option>' in page
    queue = client.get("/agent/").get_data(as_text=True)
    assert "Ivan IT (away)" in queue.split('name="assignee"', 2)[-1]  # the bulk bar's "Assign to"
    availability.set_availability(away, round_robin=False, away=False)
    db.session.commit()
    assert "(away)" not in client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
