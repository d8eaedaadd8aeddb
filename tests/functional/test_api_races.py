"""Retries that race (PostgreSQL): requests sent at once with one Idempotency-Key make one ticket
and one message, and all get the same answer; the rate limit counts every request exactly."""

import threading

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket
from tests.races import run_at_once

from .api_support import bearer

# committing: each request works through its own connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]
THREADS = 8


def together(app, send):
    """`send(client)` from THREADS threads at once, each with its own client; the answers."""
    db.session.commit()
    barrier = threading.Barrier(THREADS)
    answers = [None] * THREADS

    def run(i):
        client = app.test_client()
        barrier.wait()
        answers[i] = send(client)

    run_at_once(run, range(THREADS))
    return answers


def test_one_key_sent_at_once_makes_one_ticket_and_one_message(app, desk):
    headers = bearer(desk.requester) | {"Idempotency-Key": "burst-1"}
    data = {
        "subject": "Raced",
        "body": "Sent eight times at once.",
        "category_id": desk.it.id,
        "priority_id": desk.ref.priorities["Normal"].id,
    }

    def send(client):
        answer = client.post("/api/v1/tickets", json=data, headers=headers)
        return answer.status_code, answer.get_json()

    answers = together(app, send)
    assert {status for status, _ in answers} == {201}
    assert len({body["ticket"]["id"] for _, body in answers}) == 1
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.subject == "Raced")) == 1

    ticket_id = answers[0][1]["ticket"]["id"]

    def reply(client):
        keyed = headers | {"Idempotency-Key": "burst-2"}  # a key is one request: burst-1 made the ticket
        answer = client.post(f"/api/v1/tickets/{ticket_id}/messages", json={"body": "Once"}, headers=keyed)
        return answer.status_code, answer.get_json()

    replies = together(app, reply)
    assert {status for status, _ in replies} == {201}
    assert db.session.scalar(select(func.count(Message.id)).where(Message.ticket_id == ticket_id)) == 1


def test_the_rate_limit_holds_under_a_burst(app, desk, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 5)
    headers = bearer(desk.requester)
    answers = together(app, lambda client: client.get("/api/v1/tickets", headers=headers).status_code)
    assert sorted(answers) == [200] * 5 + [429] * (THREADS - 5)


def test_replies_sent_at_once_to_one_ticket_each_get_their_own_sequence(app, desk):
    """Each message takes the ticket's next sequence under the ticket's sequence lock: eight
    replies at once are all posted (none refused by the unique sequence), numbered 1 to 8."""
    url = f"/api/v1/tickets/{desk.it_ticket.id}/messages"
    headers = bearer(desk.requester)

    def send(client):
        return client.post(
            url, json={"body": f"At once {threading.get_ident()}"}, headers=headers
        ).status_code

    assert together(app, send) == [201] * THREADS
    db.session.expire_all()
    sequences = db.session.scalars(
        select(Message.sequence).where(Message.ticket_id == desk.it_ticket.id).order_by(Message.sequence)
    ).all()
    assert sequences == list(range(1, THREADS + 1))
    listed = app.test_client().get(f"{url}?after_sequence=0", headers=headers).get_json()["items"]
    assert [m["sequence"] for m in listed] == sequences
