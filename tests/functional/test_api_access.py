"""The pages' access matrix repeated through the API (the same 404s), and who may call it at all:
tokens only (never a session cookie), within their scopes, until they expire or are revoked."""

from datetime import timedelta

import pytest
from sqlalchemy import event

from helpdesk.accounts.models import CategoryPermission
from helpdesk.api import tokens
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import uploads
from helpdesk.tickets.models import Attachment, TicketTag

from .api_support import bearer, is_problem

ROLES = ["admin", "tech_it", "tech_sales", "requester", "subscriber", "customer"]
SEES_IT_TICKET = {"admin", "tech_it", "requester", "subscriber"}
SEES_INTERNAL = {"admin", "tech_it"}


def _attachment(ticket, message, author):
    item = uploads.store(uploads.check_upload("notes.txt", b"hello"), ticket, message, author)
    db.session.add(item)
    db.session.flush()
    return item


@pytest.fixture
def conversation(desk, make):
    public = make.message(desk.it_ticket, desk.requester, "It drops every hour.")
    note = make.message(desk.it_ticket, desk.tech_it, "Check the router firmware.", internal=True)
    return {
        "public": _attachment(desk.it_ticket, public, desk.requester),
        "internal": _attachment(desk.it_ticket, note, desk.tech_it),
    }


def _fetch(client, url, headers):
    """The answer, read and closed (a file's stream is closed with it)."""
    answer = client.get(url, headers=headers)
    answer.get_data()
    answer.close()
    return answer


@pytest.mark.parametrize("role", ROLES)
def test_a_ticket_its_messages_and_files_answer_as_its_pages_do(client, desk, conversation, role):
    headers = bearer(getattr(desk, role))
    ticket_id = desk.it_ticket.id
    read = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)
    messages = client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=headers)
    public = _fetch(client, f"/api/v1/attachments/{conversation['public'].id}", headers)
    internal = _fetch(client, f"/api/v1/attachments/{conversation['internal'].id}", headers)
    if role in SEES_IT_TICKET:
        assert read.status_code == 200 and read.get_json()["subject"] == "VPN drops"
        assert read.headers["ETag"] == f'"{desk.it_ticket.version}"'
        bodies = [m["body"] for m in messages.get_json()["items"]]
        assert ("Check the router firmware." in bodies) == (role in SEES_INTERNAL)
        assert public.status_code == 200 and public.data == b"hello"
        assert (internal.status_code == 200) == (role in SEES_INTERNAL)
        if role not in SEES_INTERNAL:
            assert is_problem(internal, 404)
    else:
        for answer in (read, messages, public, internal):
            assert is_problem(answer, 404)


@pytest.mark.parametrize("role", ROLES)
def test_the_list_holds_exactly_the_tickets_the_owner_may_see(client, desk, role):
    answer = client.get("/api/v1/tickets?status=all", headers=bearer(getattr(desk, role)))
    subjects = {item["subject"] for item in answer.get_json()["items"]}
    assert ("VPN drops" in subjects) == (role in SEES_IT_TICKET)
    assert ("Quote please" in subjects) == (role in {"admin", "tech_sales", "requester"})


def test_a_missing_ticket_and_a_hidden_one_answer_alike(client, desk):
    headers = bearer(desk.tech_sales)
    hidden = client.get(f"/api/v1/tickets/{desk.it_ticket.id}", headers=headers)
    missing = client.get("/api/v1/tickets/999999", headers=headers)
    assert is_problem(hidden, 404) and is_problem(missing, 404)
    assert hidden.get_json()["detail"] == missing.get_json()["detail"]


def test_a_session_cookie_alone_is_refused(client, login, desk):
    login(desk.admin)
    assert client.get("/agent/").status_code == 200  # the cookie works on the pages
    answer = client.get("/api/v1/tickets")
    assert is_problem(answer, 401) and "session cookie is not accepted" in answer.get_json()["detail"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    posted = client.post(
        "/api/v1/tickets", json={"subject": "x", "body": "y", "category_id": 1, "priority_id": 1}
    )
    assert is_problem(posted, 401)


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Basic abc", "Bearer hd_not-a-token", "Bearer " + "x" * 300]
)
def test_no_token_or_a_wrong_one_is_401(client, desk, header):
    answer = client.get("/api/v1/tickets", headers={"Authorization": header} if header else {})
    assert is_problem(answer, 401)


def test_expired_and_revoked_tokens_stop_working(client, desk):
    headers = bearer(desk.tech_it)
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    token = db.session.scalars(db.select(tokens.ApiToken)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert is_problem(client.get("/api/v1/tickets", headers=headers), 401)

    headers = bearer(desk.tech_it)
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    newest = db.session.scalars(db.select(tokens.ApiToken).order_by(tokens.ApiToken.id.desc())).first()
    tokens.revoke(desk.tech_it, newest.id)
    db.session.commit()
    assert is_problem(client.get("/api/v1/tickets", headers=headers), 401)


def test_a_deactivated_owners_token_stops_working(client, desk):
    headers = bearer(desk.tech_it)
    desk.tech_it.active = False
    db.session.commit()
    assert is_problem(client.get("/api/v1/tickets", headers=headers), 401)


def _get_with_statements(client, url, headers):
    """The answer to GET `url` and the SQL statements the app sent while making it."""
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        return client.get(url, headers=headers), statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_request_reads_its_token_owner_and_grants_in_one_statement(client, desk):
    """The owner is read with the token (and their category grants with them), not reloaded
    after the rate limit's commit: one statement names the token table, none reads a user again."""
    headers = bearer(desk.tech_it)
    response, statements = _get_with_statements(client, f"/api/v1/tickets/{desk.it_ticket.id}", headers)
    assert response.status_code == 200
    token_reads = [s for s in statements if "FROM api_tokens" in s]
    assert (
        len(token_reads) == 1 and "JOIN users" in token_reads[0] and "category_permissions" in token_reads[0]
    )
    assert not [s for s in statements if s.startswith("SELECT users.")]


def test_a_ticket_is_read_with_its_names_and_tags_in_one_statement(client, desk):
    """The ticket read loads the ticket, the names it shows and its tags in one statement (a
    second query for the tags was one more round trip to the database on every read)."""
    for name in ("vpn", "hardware"):
        db.session.add(TicketTag(ticket_id=desk.it_ticket.id, name=name))
    headers = bearer(desk.tech_it)  # commits: what the request reads is there before it starts
    ticket_id = desk.it_ticket.id
    response, statements = _get_with_statements(client, f"/api/v1/tickets/{ticket_id}", headers)
    assert response.status_code == 200 and response.get_json()["tags"] == ["hardware", "vpn"]
    reads = [s for s in statements if "FROM tickets" in s or "FROM ticket_tags" in s]
    assert len(reads) == 1 and "ticket_tags" in reads[0], reads


def test_a_grant_taken_away_is_seen_by_the_next_request(client, desk):
    headers = bearer(desk.tech_it)
    path = f"/api/v1/tickets/{desk.it_ticket.id}"
    assert client.get(path, headers=headers).status_code == 200
    db.session.execute(db.delete(CategoryPermission).where(CategoryPermission.user_id == desk.tech_it.id))
    db.session.commit()
    assert is_problem(client.get(path, headers=headers), 404)


def test_a_read_only_token_cannot_write(client, desk):
    headers = bearer(desk.tech_it, scopes=["tickets:read"])
    assert client.get(f"/api/v1/tickets/{desk.it_ticket.id}", headers=headers).status_code == 200
    reply = client.post(f"/api/v1/tickets/{desk.it_ticket.id}/messages", json={"body": "Hi"}, headers=headers)
    change = client.patch(
        f"/api/v1/tickets/{desk.it_ticket.id}",
        json={"status": "open"},
        headers=headers | {"If-Match": f'"{desk.it_ticket.version}"'},
    )
    assert is_problem(reply, 403) and "tickets:write" in reply.get_json()["detail"]
    assert is_problem(change, 403)
    assert is_problem(client.get("/api/v1/credits/bank", headers=headers), 403)


def test_a_token_notes_its_last_use(client, desk):
    headers = bearer(desk.requester)
    token = db.session.scalars(db.select(tokens.ApiToken)).one()
    assert token.last_used_at is None
    client.get("/api/v1/tickets", headers=headers)
    db.session.expire_all()
    assert db.session.get(tokens.ApiToken, token.id).last_used_at is not None


def test_too_many_requests_answer_429_with_retry_after(app, client, desk, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 3)
    headers = bearer(desk.requester)
    answers = [client.get("/api/v1/tickets", headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert is_problem(answers[3], 429) and 1 <= int(answers[3].headers["Retry-After"]) <= 60
    other = bearer(desk.tech_it)  # counted per token
    assert client.get("/api/v1/tickets", headers=other).status_code == 200


def test_attachment_rows_are_never_served_without_a_ticket(client, desk):
    staged = uploads.store(uploads.check_upload("staged.txt", b"x"), None, None, desk.requester)
    db.session.add(staged)
    db.session.flush()
    assert db.session.get(Attachment, staged.id).ticket_id is None
    assert is_problem(client.get(f"/api/v1/attachments/{staged.id}", headers=bearer(desk.requester)), 404)


def test_customers_see_neither_tags_nor_assignee_as_in_the_portal(client, desk):
    desk.it_ticket.assignee = desk.tech_it
    desk.it_ticket.tags = [TicketTag(name="vip")]
    db.session.flush()
    agent = client.get(f"/api/v1/tickets/{desk.it_ticket.id}", headers=bearer(desk.tech_it)).get_json()
    assert agent["tags"] == ["vip"] and agent["assignee"]["name"] == "Ivan IT"
    headers = bearer(desk.requester)
    own = client.get(f"/api/v1/tickets/{desk.it_ticket.id}", headers=headers).get_json()
    assert own["tags"] is None and own["assignee"] is None
    listed = client.get("/api/v1/tickets", headers=headers).get_json()["items"]
    assert all(item["tags"] is None and item["assignee"] is None for item in listed)
    probe = client.get("/api/v1/tickets?tag=vip&assignee=unassigned", headers=headers)
    assert is_problem(probe, 422)
    assert {e["field"] for e in probe.get_json()["errors"]} == {"query.tag", "query.assignee"}


def test_a_follower_is_not_told_what_the_requester_paid_as_in_the_portal(client, desk):
    desk.it_ticket.paid_credits = 250
    db.session.flush()
    path = f"/api/v1/tickets/{desk.it_ticket.id}"
    assert client.get(path, headers=bearer(desk.requester)).get_json()["paid_credits"] == 250
    assert client.get(path, headers=bearer(desk.tech_it)).get_json()["paid_credits"] == 250
    followed = client.get(path, headers=bearer(desk.subscriber))
    assert followed.status_code == 200 and followed.get_json()["paid_credits"] is None
