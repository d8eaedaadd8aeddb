"""`flask seed-demo --tickets N`: a large demo desk whose data holds together, on both databases."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk import policy
from helpdesk.accounts.models import Organization, User
from helpdesk.demo.bulk import customers_for
from helpdesk.demo.seed import DEMO_PASSWORD
from helpdesk.extensions import db
from helpdesk.rendering import stored_html
from helpdesk.tickets.models import STATUSES, Message, Ticket, TicketTag

N = 300
BULK = Ticket.submission_key.like("bulk:%")


def seed_demo(app, *args):
    return app.test_cli_runner().invoke(args=["seed-demo", *args])


@pytest.fixture
def seeded(app):
    result = seed_demo(app, "--tickets", str(N))
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"Added {N} tickets" in result.output
    return result


def bulk_count(*columns, where=()):
    return db.session.scalar(select(func.count(*columns)).join(Ticket).where(BULK, *where))


def sign_in(client, email):
    return client.post("/login", data={"email": email, "password": DEMO_PASSWORD})


def test_the_desk_has_what_the_command_promises(seeded):
    assert db.session.scalar(select(func.count()).where(BULK)) == N
    assert bulk_count(Message.id, where=[Message.internal.is_(False)]) == 3 * N
    per_ticket = select(Message.ticket_id).join(Ticket).where(BULK, Message.internal.is_(False))
    per_ticket = per_ticket.group_by(Message.ticket_id)
    assert not db.session.scalars(per_ticket.having(func.count() != 3)).all()  # three each
    assert bulk_count(Message.id, where=[Message.internal.is_(True)]) > N // 20  # some notes
    assert bulk_count(TicketTag.id) > N // 5
    customers, organizations = customers_for(N)
    assert db.session.scalar(select(func.count(Organization.id))) == organizations + 1  # and Acme
    managers = (
        select(User.organization_id).where(User.is_org_manager.is_(True)).group_by(User.organization_id)
    )
    assert len(db.session.scalars(managers).all()) == organizations + 1  # each one has a manager
    tickets = db.session.scalars(select(Ticket).where(BULK)).all()
    assert {t.status for t in tickets} == set(STATUSES)
    assert sum(t.status in ("resolved", "closed") for t in tickets) > N // 2
    assert sum(t.paid_credits > 0 for t in tickets) > 0
    for ticket in tickets:
        assert ticket.requester.is_customer
        assert ticket.organization_id == ticket.requester.organization_id
        assert (ticket.assignee is None) == (ticket.status == "new")
        assert policy.can_be_assigned(ticket.assignee, ticket)
        agent_replies = [m.created_at for m in ticket.messages if m.author.is_agent and not m.internal]
        assert ticket.first_response_at == min(agent_replies, default=None)
        assert (ticket.resolved_at is not None) == (ticket.status in ("resolved", "closed"))
        assert ticket.due_at > ticket.created_at
        if ticket.paid_credits:  # answered and resolved on time: the guarantee owes nothing
            assert ticket.first_response_at is None or ticket.first_response_at <= ticket.due_at
            if ticket.resolved_at and ticket.resolution_due_at:
                assert ticket.resolved_at <= ticket.resolution_due_at


def test_the_ledger_check_passes_after_it(app, seeded):
    verified = app.test_cli_runner().invoke(args=["credits", "verify"])
    assert verified.exit_code == 0 and "Ledger OK" in verified.output


def test_agents_work_the_desk_and_its_customers_sign_in(client, seeded):
    assert sign_in(client, "it.tech@example.com").status_code == 302
    queue = client.get("/agent/").get_data(as_text=True)
    assert len(re.findall(r'<a href="/agent/tickets/\d+">', queue)) == 25  # a full first page
    ticket = db.session.scalars(
        select(Ticket).join(Ticket.category).where(BULK, Ticket.category.has(name="IT")).order_by(Ticket.id)
    ).first()
    words = " ".join(re.findall(r"\w+", ticket.subject))
    found = client.get("/agent/", query_string={"q": words, "status": "all"}).get_data(as_text=True)
    assert f'<a href="/agent/tickets/{ticket.id}">' in found
    client.post("/logout")
    customer = ticket.requester
    assert sign_in(client, customer.email).status_code == 302
    assert ticket.subject in client.get("/portal/tickets?state=all").get_data(as_text=True)


def test_the_demo_logins_still_work(app, seeded):
    for email in ("admin@example.com", "alice@example.com", "carol@acme.example", "sales.tech@example.com"):
        assert sign_in(app.test_client(), email).status_code == 302, email


def test_a_second_run_adds_nothing_and_says_so(app, seeded):
    tickets, users = (
        db.session.scalar(select(func.count(Ticket.id))),
        db.session.scalar(select(func.count(User.id))),
    )
    again = seed_demo(app, "--tickets", str(N))
    assert again.exit_code == 0
    assert "already has its bulk tickets" in again.output and "none added" in again.output
    assert db.session.scalar(select(func.count(Ticket.id))) == tickets
    assert db.session.scalar(select(func.count(User.id))) == users


@pytest.mark.parametrize("value", ["-1", "1000001"])
def test_a_bad_number_of_tickets_is_refused_with_the_range(app, value):
    result = seed_demo(app, "--tickets", value)
    assert result.exit_code == 2
    assert "give a number of tickets from 0 to 1,000,000" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0  # nothing was seeded


def test_the_bulk_desk_keeps_the_html_of_its_texts_as_the_app_writes_it(seeded):
    """The ticket pages of a bulk desk cost what a real desk's cost: no body left to render."""
    for model in (Ticket, Message):
        rows = db.session.execute(select(model.body, model.body_html).where(model.body_html.is_(None))).all()
        assert rows == [] or all(not body for body, _ in rows)
    for body, html in db.session.execute(
        select(Message.body, Message.body_html).join(Ticket).where(BULK).limit(50)
    ):
        assert html == stored_html(body)
