"""Conditional GET on the queue and the ticket page (helpdesk/conditional.py): 304 Not Modified when
nothing they show changed, 200 with a new ETag after each kind of change, on any app server."""

import re
from datetime import timedelta

import pytest
import time_machine
from flask import template_rendered

from helpdesk import create_app
from helpdesk.accounts import auth as accounts
from helpdesk.accounts import permissions, users
from helpdesk.credits import ledger as credits
from helpdesk.credits import time_entries
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.notices import service as notices
from helpdesk.tickets import categories, subscribers
from helpdesk.tickets import editing as agent_tickets
from helpdesk.tickets.models import Message, Ticket

from ..conftest import make_test_config
from ..credit_helpers import bank
from .agent_support import HTMX, fresh

QUEUE = "/agent/?status=all"


def ticket_path(desk):
    return f"/agent/tickets/{desk.it_ticket.id}"


def shown(client, path, headers=None):
    """The page's ETag, after checking it is a 200 that the browser must revalidate."""
    response = client.get(path, headers=headers or {})
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "private, no-cache"
    return response.headers["ETag"]


def revalidated(client, path, etag, headers=None):
    """The answer to the browser asking again with the ETag it holds."""
    return client.get(path, headers={"If-None-Match": etag, **(headers or {})})


@pytest.mark.parametrize("page", ["queue", "ticket"])
def test_a_repeat_is_not_modified_and_costs_no_rendering(client, login, desk, page):
    login(desk.tech_it)
    path = QUEUE if page == "queue" else ticket_path(desk)
    etag = shown(client, path)
    rendered = []

    def record(*_args, **_kwargs):
        rendered.append(1)

    template_rendered.connect(record, client.application)
    for _ in range(2):
        answer = revalidated(client, path, etag)
        assert answer.status_code == 304 and answer.data == b""
        assert answer.headers["ETag"] == etag
        assert answer.headers["Cache-Control"] == "private, no-cache"
        assert {"Cookie", "HX-Request"} <= set(answer.vary)
    template_rendered.disconnect(record, client.application)
    assert rendered == []
    assert revalidated(client, path, 'W/"something else"').status_code == 200


def test_the_fragment_and_the_page_have_their_own_etags(client, login, desk):
    login(desk.tech_it)
    for path in (QUEUE, ticket_path(desk)):
        page, fragment = shown(client, path), shown(client, path, HTMX)
        assert page != fragment
        assert revalidated(client, path, page, HTMX).status_code == 200
        assert revalidated(client, path, fragment, HTMX).status_code == 304
        assert revalidated(client, path, fragment).status_code == 200


def test_each_page_and_filter_has_its_own_etag(client, login, desk):
    login(desk.tech_it)
    assert shown(client, QUEUE) != shown(client, "/agent/?status=all&sort=updated")
    assert revalidated(client, "/agent/?status=all&sort=updated", shown(client, QUEUE)).status_code == 200


def _reply(desk, author, mode="reply"):
    agent_tickets.reply(desk.it_ticket, author, f"A {mode} from {author.name}", mode=mode)


def _edit(desk, field, value):
    ticket = fresh(desk.it_ticket.id)
    change = {
        "status": agent_tickets.change_status,
        "assignee": agent_tickets.change_assignee,
        "tags": agent_tickets.set_tags,
    }[field]
    change(ticket, desk.admin, value, ticket.version)


def _new_ticket(desk, make):
    make.ticket(
        subject="Printer jammed",
        requester=desk.customer,
        category=desk.it,
        priority=desk.ref.priorities["Low"],
    )


def _grant_balance(desk, make):
    account = bank("Business", 700, user=desk.requester)
    credits.post_entry(account.id, 50, "adjustment", idempotency_key="test:more", memo="A grant")


CHANGES = {
    # what changed: (how, the pages that show it)
    "a public reply": (lambda desk, make: _reply(desk, desk.admin), ("ticket", "queue")),
    "an internal note": (lambda desk, make: _reply(desk, desk.admin, "note"), ("ticket", "queue")),
    "a customer's reply": (
        lambda desk, make: desk.it_ticket.messages.append(
            Message(author=desk.requester, body="Still broken")
        ),
        ("ticket",),
    ),
    "the status": (lambda desk, make: _edit(desk, "status", "waiting"), ("ticket", "queue")),
    "the assignee": (lambda desk, make: _edit(desk, "assignee", desk.admin.id), ("ticket", "queue")),
    "the tags": (lambda desk, make: _edit(desk, "tags", "network, urgent"), ("ticket", "queue")),
    "a new ticket": (_new_ticket, ("queue",)),
    "a subscriber": (
        lambda desk, make: subscribers.add_subscriber(
            fresh(desk.it_ticket.id), desk.admin, "new@example.com"
        ),
        ("ticket",),
    ),
    "a subscriber's name": (
        lambda desk, make: accounts.update_profile(desk.subscriber, name="Samuel Sub", timezone="UTC"),
        ("ticket",),
    ),
    "the requester's name": (
        lambda desk, make: accounts.update_profile(desk.requester, name="Alicia Archer", timezone="UTC"),
        ("ticket", "queue"),
    ),
    "a category's name": (
        lambda desk, make: categories.rename_category(desk.admin, desk.it, "Infrastructure"),
        ("ticket", "queue"),
    ),
    "another agent granted the category (who may be assigned)": (
        lambda desk, make: permissions.set_permission(desk.admin, desk.tech_sales, desk.it, True),
        ("ticket",),  # the queue's agent filter lists every active agent
    ),
    "the viewer's category revoked": (
        lambda desk, make: permissions.set_permission(desk.admin, desk.tech_it, desk.it, False),
        ("queue",),  # the ticket page is then a 404: see the test below
    ),
    "the viewer's role": (
        lambda desk, make: users.change_role(desk.admin, desk.tech_it, "admin", confirmed=True),
        ("ticket", "queue"),
    ),
    "the viewer's name": (
        lambda desk, make: accounts.update_profile(desk.tech_it, name="Ivan Infra", timezone="UTC"),
        ("ticket", "queue"),
    ),
    "the viewer's time zone": (
        lambda desk, make: accounts.update_profile(desk.tech_it, name="Ivan IT", timezone="Asia/Tokyo"),
        ("ticket", "queue"),
    ),
    "a notice for the viewer (the count in the navigation)": (
        lambda desk, make: notices.notify([desk.tech_it], "sla_at_risk", "Look at this", desk.it_ticket),
        ("ticket", "queue"),
    ),
    "the balance of the requester's bank (the credit panel)": (_grant_balance, ("ticket",)),
    "time logged on the ticket (the credit panel)": (
        lambda desk, make: time_entries.log_time(fresh(desk.it_ticket.id), desk.admin, 20, "Call"),
        ("ticket",),
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_what_a_page_shows_answers_200_with_a_new_etag(client, login, desk, make, change):
    login(desk.tech_it)
    before = {"queue": shown(client, QUEUE), "ticket": shown(client, ticket_path(desk))}
    how, pages = CHANGES[change]
    how(desk, make)
    db.session.commit()
    for page in pages:
        path = QUEUE if page == "queue" else ticket_path(desk)
        answer = revalidated(client, path, before[page])
        assert answer.status_code == 200, (change, page)
        assert answer.headers["ETag"] != before[page]
        assert revalidated(client, path, answer.headers["ETag"]).status_code == 304


def test_a_banner_appearing_answers_200(client, login, desk, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "AGENT_SEAT_LIMIT", 3)  # the desk's three agents: no banner yet
    login(desk.tech_it)
    before = {path: shown(client, path) for path in (QUEUE, ticket_path(desk))}
    make.technician(desk.it, name="Fourth Agent", email="fourth@example.com")
    db.session.commit()
    for path, etag in before.items():
        answer = revalidated(client, path, etag)
        assert answer.status_code == 200 and b"upgrade" in answer.data


def test_a_revoked_category_hides_the_ticket_at_once(client, login, desk):
    login(desk.tech_it)
    etag = shown(client, ticket_path(desk))
    permissions.set_permission(desk.admin, desk.tech_it, desk.it, False)
    db.session.commit()
    assert revalidated(client, ticket_path(desk), etag).status_code == 404


def test_a_deactivated_viewer_is_sent_to_log_in(client, login, desk):
    login(desk.tech_it)
    etags = [shown(client, QUEUE), shown(client, ticket_path(desk))]
    users.set_active(desk.admin, desk.tech_it, False)
    db.session.commit()
    for path, etag in zip((QUEUE, ticket_path(desk)), etags, strict=True):
        answer = revalidated(client, path, etag)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_the_due_time_passing_answers_200(client, login, desk):
    """The reply-by time passes with nothing written: the clock turns red ("overdue")."""
    login(desk.tech_it)
    before = {path: shown(client, path) for path in (QUEUE, ticket_path(desk))}
    due = db.session.get(Ticket, desk.it_ticket.id).due_at
    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        for path, etag in before.items():
            answer = revalidated(client, path, etag)
            assert answer.status_code == 200 and b"overdue" in answer.data


def test_the_next_day_answers_200(client, login, desk):
    """Times and "today" are read in the viewer's zone: a new day may word them differently."""
    login(desk.tech_it)
    etag = shown(client, QUEUE)
    with time_machine.travel(utcnow() + timedelta(days=1), tick=False):
        assert revalidated(client, QUEUE, etag).status_code == 200


def test_a_new_session_answers_200(client, login, desk, app):
    """The page carries tokens made from the session's CSRF secret: another session gets its own."""
    login(desk.tech_it)
    etag = shown(client, ticket_path(desk))
    other = login(desk.tech_it, as_client=app.test_client())
    answer = revalidated(other, ticket_path(desk), etag)
    assert answer.status_code == 200 and answer.headers["ETag"] != etag


def test_another_viewer_never_gets_304_for_a_page_they_were_not_shown(client, login, desk, app):
    login(desk.admin)
    etag = shown(client, ticket_path(desk))
    tech = login(desk.tech_it, as_client=app.test_client())
    assert revalidated(tech, ticket_path(desk), etag).status_code == 200


def test_a_page_showing_a_flash_message_has_no_etag(client, login, desk):
    login(desk.tech_it)
    etag = shown(client, ticket_path(desk))
    data = {"status-value": "waiting", "status-version": fresh(desk.it_ticket.id).version}
    assert client.post(f"{ticket_path(desk)}/status", data=data).status_code == 302
    flashed = revalidated(client, ticket_path(desk), etag)
    assert flashed.status_code == 200 and b"Status saved" in flashed.data
    assert "ETag" not in flashed.headers and flashed.headers["Cache-Control"] == "private, no-store"
    after = client.get(ticket_path(desk))
    assert b"Status saved" not in after.data and "ETag" in after.headers


def test_two_copies_of_the_ticket_page_post_two_messages(client, login, desk):
    """A revalidated page is the copy the browser kept, resend key included: a second note from
    another copy of it (a second tab) is another message, and resending either adds nothing."""
    login(desk.tech_it)
    page = client.get(ticket_path(desk)).get_data(as_text=True)
    key = re.search(r'name="reply-submission_key" type="hidden" value="([^"]+)"', page)[1]
    url = f"{ticket_path(desk)}/reply"
    for body in ("First note", "Second note", "First note", "Second note"):
        data = {"reply-body": body, "reply-action": "note", "reply-submission_key": key}
        assert client.post(url, data=data).status_code == 302
    notes = db.session.query(Message.body).filter_by(ticket_id=desk.it_ticket.id, internal=True).all()
    assert sorted(b for (b,) in notes) == ["First note", "Second note"]


@pytest.mark.committing  # a second app server on the same database, with its own engine
def test_every_app_server_gives_the_same_etag_and_sees_the_others_writes(app, desk, login, tmp_path):
    """The ETag comes from the database: a second server answers 304 to the first one's ETag, and a
    reply written through the second server is seen by the first at once."""
    config = make_test_config(
        app.config["DATABASE_URL"], str(tmp_path), UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"]
    )
    other = create_app(config)
    # The session's app keeps its release digest (code, templates, settings) from its first page;
    # an earlier test that changed a setting for a while may have taken it then. Server one starts
    # afresh here, with the settings server two has.
    app.extensions.pop("helpdesk_deployment", None)
    db.session.commit()
    first = login(desk.tech_it, as_client=app.test_client())
    path = ticket_path(desk)
    etag = shown(first, path)
    second = other.test_client()
    with first.session_transaction() as sess:  # the same browser (its session cookie) on server two
        cookie = dict(sess)
    with second.session_transaction() as sess:
        sess.update(cookie)
    assert revalidated(second, path, etag).status_code == 304
    ticket_id, admin_id, admin_class = desk.it_ticket.id, desk.admin.id, type(desk.admin)
    db.session.commit()  # SQLite: the test's own session holds no transaction while the other writes
    with other.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        admin = db.session.get(admin_class, admin_id)
        agent_tickets.reply(ticket, admin, "Written through server two", mode="reply")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    db.session.expire_all()
    answer = revalidated(first, path, etag)
    assert answer.status_code == 200 and b"Written through server two" in answer.data
