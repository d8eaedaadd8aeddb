"""Agents editing one ticket at the same moment on PostgreSQL: every answer is a saved change or a
409 "someone else changed this ticket", never a 500, and the ticket's history holds exactly the
changes that were answered as saved."""

import threading

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket, TicketEvent

# committing: each thread works through its own connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]
AGENTS = 5
ROUNDS = 8


def _race(app, login, agents, ticket_id, post):
    barrier = threading.Barrier(len(agents))
    answers, errors = [], []

    def run(agent, n):
        with app.app_context():
            client = login(agent, as_client=app.test_client())
            try:
                barrier.wait()
                for round_ in range(ROUNDS):
                    version = db.session.scalar(select(Ticket.version).where(Ticket.id == ticket_id))
                    db.session.rollback()
                    response = post(client, n, round_, version)
                    answers.append((response.status_code, response.get_data(as_text=True)))
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(agent, n)) for n, agent in enumerate(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return answers


def _desk(make, ref):
    agents = [make.technician(ref.categories["IT"]) for _ in range(AGENTS)]
    ticket = make.ticket(category=ref.categories["IT"])
    db.session.commit()
    return agents, ticket.id


def test_five_agents_editing_one_ticket_get_saved_or_409_never_500(app, login, make, ref):
    agents, ticket_id = _desk(make, ref)
    first_version = db.session.get(Ticket, ticket_id).version
    statuses = ["open", "waiting", "open", "waiting"]
    priorities = [ref.priorities[name].id for name in ("Normal", "Low", "Normal", "Low")]

    def post(client, n, round_, version):
        if n % 2:
            data = {"status-value": statuses[(n + round_) % 4], "status-version": version}
            return client.post(f"/agent/tickets/{ticket_id}/status", data=data)
        data = {"priority-value": priorities[(n + round_) % 4], "priority-version": version}
        return client.post(f"/agent/tickets/{ticket_id}/priority", data=data)

    answers = _race(app, login, agents, ticket_id, post)
    codes = [code for code, _ in answers]
    assert len(codes) == AGENTS * ROUNDS
    assert set(codes) <= {302, 409}, sorted(set(codes))
    for code, body in answers:
        if code == 409:
            assert "Someone else changed this ticket" in body
    saved = codes.count(302)
    assert saved >= 1
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    changes = db.session.scalar(
        select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    )
    # A save that changed nothing (same value) records no event and keeps the version.
    assert ticket.version - first_version == changes <= saved


def test_concurrent_replies_and_edits_never_500(app, login, make, ref):
    agents, ticket_id = _desk(make, ref)

    def post(client, n, round_, version):
        if n % 2:
            data = {
                "reply-body": f"Reply {n}.{round_}",
                "reply-action": "reply",
                "reply-submission_key": f"k{n}-{round_}",
            }
            return client.post(f"/agent/tickets/{ticket_id}/reply", data=data)
        data = {"tags-value": f"tag{n}{round_}", "tags-version": version}
        return client.post(f"/agent/tickets/{ticket_id}/tags", data=data)

    answers = _race(app, login, agents, ticket_id, post)
    codes = {code for code, _ in answers}
    assert codes <= {302, 409}, sorted(codes)
