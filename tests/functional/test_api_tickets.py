"""Tickets and messages through the API: the queue's list and cursor, creates that are idempotent
(and the console's consent rule for paid priorities), changes guarded by If-Match, replies and
notes with files, and problem documents for every refusal."""

import io

import pytest
from sqlalchemy import func, select

from helpdesk.api.models import IdempotentRequest
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket

from ..credit_helpers import balance_of, bank
from .api_support import bearer, is_problem, revoke


def _subjects(answer):
    return [item["subject"] for item in answer.get_json()["items"]]


def test_the_list_pages_with_a_cursor_and_keeps_the_filters(client, desk, make):
    for n in range(4):
        make.ticket(
            subject=f"Printer {n}",
            requester=desk.requester,
            category=desk.it,
            priority=desk.ref.priorities["Normal"],
        )
    headers = bearer(desk.tech_it)
    first = client.get(f"/api/v1/tickets?sort=updated&limit=2&category={desk.it.id}", headers=headers)
    body = first.get_json()
    assert first.status_code == 200 and len(body["items"]) == 2
    assert (
        f"category={desk.it.id}" in body["next"]
        and "limit=2" in body["next"]
        and "sort=updated" in body["next"]
    )
    seen = _subjects(first)
    following = body["next"]
    while following:
        page = client.get(following, headers=headers).get_json()
        seen += [item["subject"] for item in page["items"]]
        following = page["next"]
    assert sorted(seen) == sorted(["VPN drops"] + [f"Printer {n}" for n in range(4)])


def test_the_list_refuses_bad_parameters_with_field_errors(client, desk):
    headers = bearer(desk.tech_it)
    answer = client.get("/api/v1/tickets?limit=500&sort=sideways", headers=headers)
    assert is_problem(answer, 422)
    fields = {e["field"] for e in answer.get_json()["errors"]}
    assert fields == {"query.limit", "query.sort"}
    assert is_problem(client.get("/api/v1/tickets?after=nonsense", headers=headers), 422)
    searched = client.get("/api/v1/tickets?q=vpn", headers=bearer(desk.requester))
    assert is_problem(searched, 422)  # the text search includes internal notes: agents only
    assert _subjects(client.get("/api/v1/tickets?q=vpn", headers=headers)) == ["VPN drops"]


def _new(**fields):
    return {
        "subject": "Mail is down",
        "body": "Since 9:00.",
        "category_id": None,
        "priority_id": None,
    } | fields


def test_a_customer_opens_a_ticket_once_per_idempotency_key(client, desk):
    headers = bearer(desk.requester) | {"Idempotency-Key": "order-42"}
    data = _new(category_id=desk.it.id, priority_id=desk.ref.priorities["Normal"].id)
    first = client.post("/api/v1/tickets", json=data, headers=headers)
    again = client.post("/api/v1/tickets", json=data, headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    ticket_id = first.get_json()["ticket"]["id"]
    assert first.headers["Location"].endswith(f"/api/v1/tickets/{ticket_id}")
    assert db.session.scalar(db.select(db.func.count(Ticket.id)).where(Ticket.subject == "Mail is down")) == 1

    other = client.post("/api/v1/tickets", json=data | {"subject": "Another"}, headers=headers)
    assert is_problem(other, 422) and other.get_json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert db.session.scalar(db.select(db.func.count(Ticket.id)).where(Ticket.subject == "Another")) == 0


def test_without_a_key_each_create_is_new(client, desk):
    headers = bearer(desk.requester)
    data = _new(category_id=desk.it.id, priority_id=desk.ref.priorities["Normal"].id)
    assert client.post("/api/v1/tickets", json=data, headers=headers).status_code == 201
    assert client.post("/api/v1/tickets", json=data, headers=headers).status_code == 201
    assert db.session.scalar(db.select(db.func.count(Ticket.id)).where(Ticket.subject == "Mail is down")) == 2
    assert db.session.scalar(db.select(db.func.count(IdempotentRequest.id))) == 0


def test_a_customer_pays_for_a_paid_priority_as_in_the_portal(client, desk):
    account = bank("Business", 1000, user=desk.requester)
    data = _new(category_id=desk.it.id, priority_id=desk.ref.priorities["Urgent"].id)
    answer = client.post("/api/v1/tickets", json=data, headers=bearer(desk.requester))
    assert answer.status_code == 201 and answer.get_json()["credits_charged"] == 250
    assert balance_of(account) == 750


def test_an_agent_charges_a_paid_priority_only_with_consent(client, desk):
    account = bank("Business", 1000, user=desk.requester)
    headers = bearer(desk.tech_it)
    base = _new(
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Urgent"].id,
        customer_email="alice@example.com",
    )
    free = client.post("/api/v1/tickets", json=base, headers=headers)
    assert free.status_code == 201 and free.get_json()["credits_charged"] == 0 and balance_of(account) == 1000
    assert free.get_json()["ticket"]["requester"]["name"] == "Alice Archer"
    paid = client.post("/api/v1/tickets", json=base | {"consent": True}, headers=headers)
    assert paid.get_json()["credits_charged"] == 250 and balance_of(account) == 750

    elsewhere = client.post("/api/v1/tickets", json=base | {"category_id": desk.sales.id}, headers=headers)
    assert is_problem(elsewhere, 422)  # not a category this technician works
    nobody = client.post(
        "/api/v1/tickets",
        json=_new(category_id=desk.it.id, priority_id=desk.ref.priorities["Normal"].id),
        headers=headers,
    )
    assert is_problem(nobody, 422) and "customer_email" in nobody.get_json()["detail"]


def test_a_customer_cannot_open_a_ticket_for_someone_else(client, desk):
    data = _new(
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Normal"].id,
        customer_email="carl@example.com",
    )
    assert is_problem(client.post("/api/v1/tickets", json=data, headers=bearer(desk.requester)), 403)


def test_a_create_with_bad_fields_names_them(client, desk):
    answer = client.post("/api/v1/tickets", json={"subject": "", "extra": 1}, headers=bearer(desk.requester))
    assert is_problem(answer, 422)
    fields = {e["field"] for e in answer.get_json()["errors"]}
    assert {"subject", "body", "category_id", "priority_id", "extra"} <= fields
    assert is_problem(client.post("/api/v1/tickets", data="subject=x", headers=bearer(desk.requester)), 415)
    broken = client.post(
        "/api/v1/tickets", data="{", content_type="application/json", headers=bearer(desk.requester)
    )
    assert is_problem(broken, 400)


@pytest.mark.parametrize("depth", [600, 100_000])
def test_a_body_nested_too_deeply_is_a_400_not_a_500(client, desk, depth):
    """The parser's or the cleaning's recursion ran out (RecursionError, a 500) for a body as
    small as 2 kB: 100,000 brackets failed in json.loads, 600 in routing.cleaned."""
    data = '{"subject": ' + "[" * depth + "]" * depth + ', "body": "b", "category_id": 1, "priority_id": 1}'
    answer = client.post(
        "/api/v1/tickets", data=data, content_type="application/json", headers=bearer(desk.requester)
    )
    assert is_problem(answer, 400) and "nested" in answer.get_json()["detail"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2


def _patch(client, desk, headers, version, **fields):
    extra = {} if version is None else {"If-Match": f'"{version}"'}
    return client.patch(f"/api/v1/tickets/{desk.it_ticket.id}", json=fields, headers=headers | extra)


def test_a_change_needs_the_current_version(client, desk):
    headers = bearer(desk.tech_it)
    version = client.get(f"/api/v1/tickets/{desk.it_ticket.id}", headers=headers).get_json()["version"]
    changed = _patch(
        client, desk, headers, version, status="waiting", tags=["vpn", "remote"], assignee_id=desk.tech_it.id
    )
    body = changed.get_json()
    assert changed.status_code == 200 and body["status"] == "waiting" and body["tags"] == ["remote", "vpn"]
    assert body["assignee"]["id"] == desk.tech_it.id and body["version"] > version
    assert changed.headers["ETag"] == f'"{body["version"]}"'

    stale = _patch(client, desk, headers, version, status="open")
    assert is_problem(stale, 412)
    db.session.expire_all()
    assert db.session.get(Ticket, desk.it_ticket.id).status == "waiting"  # nothing changed
    assert is_problem(_patch(client, desk, headers, None, status="open"), 428)
    assert _patch(client, desk, headers, body["version"], assignee_id=None).get_json()["assignee"] is None
    anyway = client.patch(
        f"/api/v1/tickets/{desk.it_ticket.id}", json={"status": "open"}, headers=headers | {"If-Match": "*"}
    )
    assert anyway.status_code == 200 and anyway.get_json()["status"] == "open"  # RFC 9110: any version
    # Names no version: stale, never a 500 ("²" is a digit to isdigit() but no number to int();
    # a number past 64 bits is none SQLite can compare).
    for nonsense in ('""', "W/", '"x", ""', ",", '"²"', '"١"', f'"{10**30}"'):
        answer = client.patch(
            f"/api/v1/tickets/{desk.it_ticket.id}", json={}, headers=headers | {"If-Match": nonsense}
        )
        assert is_problem(answer, 412), (nonsense, answer.status_code)


def test_a_weak_etag_in_if_match_never_matches(client, desk):
    """RFC 9110 13.1.1: If-Match compares strongly, so `W/"7"` is not version 7."""
    headers = bearer(desk.tech_it)
    version = client.get(f"/api/v1/tickets/{desk.it_ticket.id}", headers=headers).get_json()["version"]
    weak = client.patch(
        f"/api/v1/tickets/{desk.it_ticket.id}",
        json={"status": "waiting"},
        headers=headers | {"If-Match": f'W/"{version}"'},
    )
    assert is_problem(weak, 412)
    db.session.expire_all()
    assert db.session.get(Ticket, desk.it_ticket.id).status != "waiting"  # nothing changed
    strong_too = client.patch(
        f"/api/v1/tickets/{desk.it_ticket.id}",
        json={"status": "waiting"},
        headers=headers | {"If-Match": f'W/"{version}", "{version}"'},
    )
    assert strong_too.status_code == 200 and strong_too.get_json()["status"] == "waiting"


def test_a_change_is_all_or_nothing(client, desk):
    headers = bearer(desk.tech_it)
    refused = _patch(
        client, desk, headers, desk.it_ticket.version, status="waiting", category_id=desk.sales.id
    )
    assert is_problem(refused, 403)  # may not move it to Sales: the status is not changed either
    db.session.expire_all()
    assert db.session.get(Ticket, desk.it_ticket.id).status == "new"


@pytest.mark.parametrize(
    "role,status", [("tech_sales", 404), ("customer", 404), ("requester", 403), ("subscriber", 403)]
)
def test_only_agents_who_work_it_change_a_ticket(client, desk, role, status):
    answer = _patch(client, desk, bearer(getattr(desk, role)), desk.it_ticket.version, status="waiting")
    assert is_problem(answer, status)


def test_a_customer_closes_and_reopens_but_changes_nothing_else(client, desk):
    headers = bearer(desk.requester)
    closed = _patch(client, desk, headers, desk.it_ticket.version, status="closed")
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    version = closed.get_json()["version"]
    assert is_problem(_patch(client, desk, headers, version, status="waiting"), 403)
    assert is_problem(_patch(client, desk, headers, version, status="open", tags=["x"]), 403)
    assert is_problem(_patch(client, desk, headers, version - 1, status="open"), 412)
    assert _patch(client, desk, headers, version, status="open").get_json()["status"] == "open"
    assert is_problem(_patch(client, desk, bearer(desk.subscriber), version + 1, status="closed"), 403)


def test_replies_notes_and_files_go_through_the_pages_service(client, desk):
    agent = bearer(desk.tech_it)
    url = f"/api/v1/tickets/{desk.it_ticket.id}/messages"
    reply = client.post(url, json={"body": "Restart the router."}, headers=agent | {"Idempotency-Key": "r1"})
    assert reply.status_code == 201 and reply.get_json()["message"]["internal"] is False
    again = client.post(url, json={"body": "Restart the router."}, headers=agent | {"Idempotency-Key": "r1"})
    assert again.get_json() == reply.get_json()
    db.session.expire_all()
    ticket = db.session.get(Ticket, desk.it_ticket.id)
    assert ticket.status == "open" and ticket.first_response_at is not None  # an agent's first reply
    assert db.session.scalar(db.select(db.func.count(Message.id)).where(Message.ticket_id == ticket.id)) == 1

    files = {"body": "Log attached", "internal": "true", "files": (io.BytesIO(b"line 1\n"), "log.txt")}
    note = client.post(url, data=files, headers=agent, content_type="multipart/form-data")
    attachment = note.get_json()["message"]["attachments"][0]
    assert note.status_code == 201 and note.get_json()["message"]["internal"] is True
    assert attachment["filename"] == "log.txt" and attachment["size"] == 7
    download = client.get(attachment["url"], headers=agent)
    assert download.get_data() == b"line 1\n"
    download.close()

    customer = bearer(desk.requester)
    assert is_problem(client.post(url, json={"body": "x", "internal": True}, headers=customer), 403)
    listed = client.get(url, headers=customer).get_json()["items"]
    assert [m["body"] for m in listed] == ["Restart the router."]


def test_an_upload_the_pages_refuse_is_refused(client, desk):
    url = f"/api/v1/tickets/{desk.it_ticket.id}/messages"
    bad = {"body": "see file", "files": (io.BytesIO(b"MZ\x90\x00 binary"), "tool.exe")}
    answer = client.post(url, data=bad, headers=bearer(desk.requester), content_type="multipart/form-data")
    assert is_problem(answer, 422) and answer.get_json()["errors"][0]["field"] == "files"
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_messages_are_paginated(client, desk, make):
    for n in range(5):
        make.message(desk.it_ticket, desk.requester, f"Message {n}")
    headers = bearer(desk.requester)
    page = client.get(f"/api/v1/tickets/{desk.it_ticket.id}/messages?limit=2", headers=headers).get_json()
    bodies = [m["body"] for m in page["items"]]
    while page["next"]:
        page = client.get(page["next"], headers=headers).get_json()
        bodies += [m["body"] for m in page["items"]]
    assert bodies == [f"Message {n}" for n in range(5)]


def test_a_client_polling_by_sequence_gets_the_messages_a_merge_brings(client, desk, make):
    """A duplicate's messages keep their ids, older than what the client read of the kept ticket:
    by `after` it would never see them; by `after_sequence` they come next, in their order."""
    from helpdesk.tickets import merging

    duplicate = make.ticket(
        subject="VPN again", body="Duplicate description", requester=desk.requester,
        category=desk.it, priority=desk.ref.priorities["Normal"],
    )  # fmt: skip
    make.message(duplicate, desk.tech_it, "Duplicate reply")  # an id older than the kept reply's
    make.message(desk.it_ticket, desk.tech_it, "Kept reply")
    db.session.commit()
    headers, url = bearer(desk.requester), f"/api/v1/tickets/{desk.it_ticket.id}/messages"
    read = client.get(f"{url}?after_sequence=0", headers=headers).get_json()["items"]
    assert [m["body"] for m in read] == ["Kept reply"]
    by_id, by_sequence = read[-1]["id"], read[-1]["sequence"]

    merging.merge(duplicate, desk.it_ticket, desk.tech_it)
    db.session.commit()
    since = client.get(f"{url}?after={by_id}", headers=headers).get_json()["items"]
    assert "Duplicate reply" not in [m["body"] for m in since]  # by id, as ever: its id is older
    page = client.get(f"{url}?after_sequence={by_sequence}&limit=1", headers=headers).get_json()
    bodies = [m["body"] for m in page["items"]]
    while page["next"]:
        assert "after_sequence=" in page["next"] and "limit=1" in page["next"]
        page = client.get(page["next"], headers=headers).get_json()
        bodies += [m["body"] for m in page["items"]]
    assert len(bodies) == 2 and "Duplicate description" in bodies[0] and bodies[1] == "Duplicate reply"
    later = client.get(f"{url}?after_sequence={by_sequence + 2}", headers=headers).get_json()["items"]
    assert later == []
    both = client.get(f"{url}?after_sequence=1&after=1", headers=headers)
    assert is_problem(both, 422) and both.get_json()["errors"][0]["field"] == "after_sequence"


def test_a_client_polling_the_duplicate_by_sequence_gets_the_merge_notice(client, desk, make):
    """The duplicate's messages leave it: the message saying where its conversation went comes
    after the sequence a client read of it, never at a number it had already passed."""
    from helpdesk.tickets import merging

    duplicate = make.ticket(
        subject="VPN again", body="Duplicate description", requester=desk.requester,
        category=desk.it, priority=desk.ref.priorities["Normal"],
    )  # fmt: skip
    for n in range(3):
        make.message(duplicate, desk.tech_it, f"Duplicate reply {n}")
    db.session.commit()
    headers, url = bearer(desk.requester), f"/api/v1/tickets/{duplicate.id}/messages"
    read = client.get(f"{url}?after_sequence=0", headers=headers).get_json()["items"]
    assert [m["body"] for m in read] == [f"Duplicate reply {n}" for n in range(3)]

    merging.merge(duplicate, desk.it_ticket, desk.tech_it)
    db.session.commit()
    since = client.get(f"{url}?after_sequence={read[-1]['sequence']}", headers=headers).get_json()["items"]
    assert [m["body"] for m in since] == [
        f"This ticket was merged into #{desk.it_ticket.id} (VPN drops): the conversation continues there."
    ]


def test_routing_errors_are_problems_too(client, desk):
    headers = bearer(desk.requester)
    assert is_problem(client.get("/api/v1/nowhere", headers=headers), 404)
    assert is_problem(client.get("/api/v2/tickets"), 404)
    wrong = client.delete(f"/api/v1/tickets/{desk.it_ticket.id}", headers=headers)
    assert is_problem(wrong, 405) and "PATCH" in wrong.headers["Allow"]
    assert client.get("/nowhere").mimetype == "text/html"  # the pages keep their error page


def test_a_crash_is_a_logged_500_problem(app, client, desk, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("helpdesk.api.views_tickets.queue.queue_page", broken)
    answer = client.get("/api/v1/tickets", headers=bearer(desk.requester))
    assert is_problem(answer, 500) and "a bug" not in answer.get_data(as_text=True)


def test_a_body_over_the_limit_is_a_413_problem(app, client, desk, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    files = {"body": "big", "files": (io.BytesIO(b"x" * 5000), "big.txt")}
    answer = client.post(
        f"/api/v1/tickets/{desk.it_ticket.id}/messages",
        data=files,
        headers=bearer(desk.requester),
        content_type="multipart/form-data",
    )
    assert is_problem(answer, 413)
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_priority_and_category_change_through_the_consoles_services(client, desk):
    account = bank("Business", 1000, user=desk.requester)
    created = client.post(
        "/api/v1/tickets",
        json=_new(category_id=desk.it.id, priority_id=desk.ref.priorities["Urgent"].id),
        headers=bearer(desk.requester),
    ).get_json()["ticket"]
    assert balance_of(account) == 750
    headers = bearer(desk.tech_it)
    url = f"/api/v1/tickets/{created['id']}"
    lowered = client.patch(
        url,
        json={
            "priority_id": desk.ref.priorities["Normal"].id,
            "category_id": desk.ref.categories["Billing"].id,
        },
        headers=headers | {"If-Match": f'"{created["version"]}"'},
    )
    body = lowered.get_json()
    assert (
        lowered.status_code == 200
        and body["priority"]["name"] == "Normal"
        and body["category"]["name"] == "Billing"
    )
    assert (
        balance_of(account) == 1000
    )  # lowering refunds what was paid above the new tariff, as on the console


# --- An Idempotency-Key is its owner's (audit: another agent's key gave back their ticket) -------


def _count(subject):
    return db.session.scalar(db.select(db.func.count(Ticket.id)).where(Ticket.subject == subject))


def test_another_agent_s_same_key_makes_their_own_ticket(client, desk):
    normal = desk.ref.priorities["Normal"].id
    it_call = _new(
        subject="IT secret subject", body="IT confidential body", category_id=desk.it.id, priority_id=normal
    )
    first = client.post(
        "/api/v1/tickets",
        json=it_call | {"customer_email": "alice@example.com"},
        headers=bearer(desk.tech_it) | {"Idempotency-Key": "shared-1"},
    )
    assert first.status_code == 201 and first.get_json()["created"] is True
    sales_call = _new(subject="sales call", body="sales body", category_id=desk.sales.id, priority_id=normal)
    sara = bearer(desk.tech_sales)
    second = client.post(
        "/api/v1/tickets",
        json=sales_call | {"customer_email": "alice@example.com"},
        headers=sara | {"Idempotency-Key": "shared-1"},
    )
    answer = second.get_json()
    assert second.status_code == 201 and answer["created"] is True
    assert answer["ticket"]["subject"] == "sales call" and answer["ticket"]["category"]["name"] == "Sales"
    assert "IT confidential body" not in second.get_data(as_text=True)
    assert answer["ticket"]["id"] != first.get_json()["ticket"]["id"]
    assert client.get(f"/api/v1/tickets/{answer['ticket']['id']}", headers=sara).status_code == 200
    assert _count("IT secret subject") == 1 and _count("sales call") == 1


def test_a_customer_s_key_is_not_an_agent_s(client, desk):
    normal = desk.ref.priorities["Normal"].id
    mine = _new(subject="my card number ends 4242", category_id=desk.it.id, priority_id=normal)
    alice = client.post(
        "/api/v1/tickets", json=mine, headers=bearer(desk.requester) | {"Idempotency-Key": "alice-x"}
    )
    assert alice.status_code == 201 and alice.get_json()["created"] is True
    call = _new(subject="Called about the quote", category_id=desk.sales.id, priority_id=normal)
    sara = client.post(
        "/api/v1/tickets",
        json=call | {"customer_email": "alice@example.com"},
        headers=bearer(desk.tech_sales) | {"Idempotency-Key": "alice-x"},
    )
    assert sara.status_code == 201 and sara.get_json()["created"] is True
    assert sara.get_json()["ticket"]["subject"] == "Called about the quote"
    assert "4242" not in sara.get_data(as_text=True)
    assert _count("my card number ends 4242") == 1 and _count("Called about the quote") == 1


def test_a_ticket_the_caller_may_not_see_is_never_handed_back(client, desk):
    """A form can be sent with any submission key: one equal to the key an agent's Idempotency-Key
    makes finds a ticket they may not see. It is a new request (and its retries find it)."""
    from helpdesk.api import idempotency

    desk.it_ticket.submission_key = idempotency.submission_key(desk.tech_sales, "crm-case-981")
    db.session.commit()
    call = _new(subject="Called", category_id=desk.sales.id, priority_id=desk.ref.priorities["Normal"].id)
    headers = bearer(desk.tech_sales) | {"Idempotency-Key": "crm-case-981"}
    made = client.post(
        "/api/v1/tickets", json=call | {"customer_email": "alice@example.com"}, headers=headers
    )
    assert made.status_code == 201 and made.get_json()["created"] is True
    assert made.get_json()["ticket"]["subject"] == "Called" and "VPN drops" not in made.get_data(as_text=True)
    db.session.execute(db.delete(IdempotentRequest))  # the kept answer pruned: the submission key holds
    db.session.commit()
    again = client.post(
        "/api/v1/tickets", json=call | {"customer_email": "alice@example.com"}, headers=headers
    )
    assert again.get_json()["created"] is False
    assert again.get_json()["ticket"]["id"] == made.get_json()["ticket"]["id"] and _count("Called") == 1


@pytest.mark.parametrize("address", ["not an email", "<script>@x", "x@localhost", "\u0000@x.org", "alice@"])
def test_an_agent_s_customer_must_be_an_e_mail_address(client, desk, address):
    from helpdesk.accounts.models import User
    from helpdesk.mail.models import OutboxMessage

    users = db.session.scalar(db.select(db.func.count(User.id)))
    data = _new(
        subject="Called",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Normal"].id,
        customer_email=address,
        customer_name="Newbie",
    )
    refused = client.post("/api/v1/tickets", json=data, headers=bearer(desk.tech_it))
    assert is_problem(refused, 422)
    errors = refused.get_json()["errors"]
    assert [e["field"] for e in errors] == ["customer_email"] and "email address" in errors[0]["message"]
    assert db.session.scalar(db.select(db.func.count(User.id))) == users  # no customer made
    assert _count("Called") == 0
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0  # no mail queued


def test_an_agent_s_new_customer_with_a_good_address_is_made(client, desk):
    data = _new(
        subject="Called",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Normal"].id,
        customer_email="  Newbie@Example.ORG ",
        customer_name="Newbie",
    )
    made = client.post("/api/v1/tickets", json=data, headers=bearer(desk.tech_it))
    assert made.status_code == 201 and made.get_json()["ticket"]["requester"]["name"] == "Newbie"


def test_a_kept_answer_is_not_replayed_once_its_ticket_is_out_of_sight(client, desk):
    """An agent's retry within API_IDEMPOTENCY_KEEP_HOURS got the kept answer (the ticket's subject,
    body and requester) after the agent lost the ticket's category: the ticket answers 404 now."""
    call = _new(
        subject="IT secret subject",
        body="IT confidential body",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Normal"].id,
        customer_email="alice@example.com",
    )
    headers = bearer(desk.tech_it) | {"Idempotency-Key": "crm-7"}
    first = client.post("/api/v1/tickets", json=call, headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/tickets", json=call, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    revoke(desk.tech_it, desk.it)
    assert is_problem(client.get(first.headers["Location"], headers=headers), 404)
    retried = client.post("/api/v1/tickets", json=call, headers=headers)
    assert is_problem(retried, 404) and "IT confidential body" not in retried.get_data(as_text=True)
    assert _count("IT secret subject") == 1


def test_a_key_kept_for_another_create_is_a_reused_key(client, desk):
    headers = bearer(desk.tech_it) | {"Idempotency-Key": "k-1"}
    reply = client.post(f"/api/v1/tickets/{desk.it_ticket.id}/messages", json={"body": "Hi"}, headers=headers)
    assert reply.status_code == 201
    call = _new(
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Normal"].id,
        customer_email="alice@example.com",
    )
    assert is_problem(client.post("/api/v1/tickets", json=call, headers=headers), 422)
