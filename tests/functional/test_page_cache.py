"""Cached agent pages: a repeat costs no database work, and no change is ever hidden by the cache."""

import re
from contextlib import contextmanager
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import event

from helpdesk import create_app
from helpdesk.accounts import permissions, users
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.page_cache import WriteGeneration
from helpdesk.tickets.models import Message, Ticket

from ..conftest import make_test_config
from .agent_support import HTMX, fresh


@contextmanager
def statements():
    """The SQL statements sent inside the block."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def logged_in(login, user, client):
    """`client` as `user`, past the first page (which gives a new session its CSRF secret and is
    therefore never kept)."""
    login(user, as_client=client)
    assert client.get("/agent/").status_code == 200
    return client


def resend_key(response):
    return re.search(
        r'name="reply-submission_key" type="hidden" value="([^"]+)"', response.get_data(as_text=True)
    )[1]


def test_a_repeated_agent_page_is_served_without_database_work(client, login, desk):
    logged_in(login, desk.tech_it, client)
    for path in ("/agent/?status=all", f"/agent/tickets/{desk.it_ticket.id}"):
        first = client.get(path)
        assert first.status_code == 200
        with statements() as sent:
            again = client.get(path)
        assert again.status_code == 200 and sent == []
        same = re.sub(r'submission_key" type="hidden" value="[^"]+"', "", again.get_data(as_text=True))
        assert same == re.sub(
            r'submission_key" type="hidden" value="[^"]+"', "", first.get_data(as_text=True)
        )
        assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_another_agents_reply_shows_at_once(client, app, login, desk):
    login(desk.tech_it)
    ticket_path = f"/agent/tickets/{desk.it_ticket.id}"
    assert b"Router rebooted" not in client.get(ticket_path).data
    client.get(ticket_path)  # now cached
    admin = login(desk.admin, as_client=app.test_client())
    data = {"reply-body": "Router rebooted", "reply-action": "reply", "reply-submission_key": "k-admin"}
    assert admin.post(f"{ticket_path}/reply", data=data).status_code == 302
    assert b"Router rebooted" in client.get(ticket_path).data


@pytest.mark.committing  # a second app writes through its own engine
def test_a_change_made_by_another_process_shows_at_once(client, app, login, desk, tmp_path):
    """Another worker, `flask credits sla-sweep` or the mail worker: its own engine, the same host."""
    login(desk.tech_it)
    assert b"VPN drops" in client.get("/agent/?status=all").data
    client.get("/agent/?status=all")
    other = create_app(
        make_test_config(
            app.config["DATABASE_URL"],
            str(tmp_path),
            PAGE_CACHE_GENERATION_FILE=app.config["PAGE_CACHE_GENERATION_FILE"],
        )
    )
    ticket_id = desk.it_ticket.id
    db.session.commit()  # SQLite: the test's own session holds no transaction while the other writes
    with other.app_context():
        db.session.get(Ticket, ticket_id).subject = "VPN fixed by the night shift"
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    db.session.expire_all()
    page = client.get("/agent/?status=all").get_data(as_text=True)
    assert "VPN fixed by the night shift" in page and "VPN drops" not in page


def test_a_deactivated_agent_is_not_served_a_cached_page(client, login, desk):
    login(desk.tech_it)
    assert client.get("/agent/").status_code == 200
    client.get("/agent/")
    users.set_active(desk.admin, desk.tech_it, False)
    db.session.commit()
    answer = client.get("/agent/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_revoked_category_hides_its_cached_ticket_at_once(client, login, desk):
    login(desk.tech_it)
    path = f"/agent/tickets/{desk.it_ticket.id}"
    assert client.get(path).status_code == 200
    client.get(path)
    permissions.set_permission(desk.admin, desk.tech_it, desk.it, False)
    db.session.commit()
    assert client.get(path).status_code == 404
    assert b"VPN drops" not in client.get("/agent/?status=all").data


def test_pages_are_never_shared_between_agents(client, app, login, desk):
    login(desk.tech_it)
    for _ in range(2):
        ivan = client.get("/agent/?status=all").get_data(as_text=True)
    assert "Ivan IT (technician)" in ivan and "Quote please" not in ivan
    admin = login(desk.admin, as_client=app.test_client())
    page = admin.get("/agent/?status=all").get_data(as_text=True)
    assert "Ada Admin (admin)" in page and "Ivan IT (technician)" not in page
    assert "Quote please" in page  # the admin sees Sales; Ivan's cached page did not


def test_the_overdue_mark_appears_when_the_due_time_passes(client, login, desk, monkeypatch):
    """The page names the instant it goes stale: the next due time on it (sooner than the 10 s cap)."""
    soon = utcnow() + timedelta(seconds=5)
    db.session.get(Ticket, desk.it_ticket.id).due_at = soon
    db.session.commit()
    login(desk.tech_it)
    for path in ("/agent/?status=all", f"/agent/tickets/{desk.it_ticket.id}"):
        assert b"overdue</strong>" not in client.get(path).data
    import helpdesk.page_cache
    import helpdesk.tickets.agent_queue
    import helpdesk.tickets.agent_ticket

    later = helpdesk.page_cache.monotonic() + 6
    monkeypatch.setattr(helpdesk.page_cache, "monotonic", lambda: later)
    for module in (helpdesk.tickets.agent_queue, helpdesk.tickets.agent_ticket):
        monkeypatch.setattr(module, "utcnow", lambda: soon + timedelta(seconds=1))
    for path in ("/agent/?status=all", f"/agent/tickets/{desk.it_ticket.id}"):
        assert b"overdue</strong>" in client.get(path).data


def test_no_page_is_kept_longer_than_the_configured_seconds(client, login, desk, monkeypatch):
    logged_in(login, desk.tech_it, client)
    client.get("/agent/")
    import helpdesk.page_cache

    later = helpdesk.page_cache.monotonic() + 10.5
    monkeypatch.setattr(helpdesk.page_cache, "monotonic", lambda: later)
    with statements() as sent:
        client.get("/agent/")
    assert sent  # rendered again


def test_each_copy_of_a_cached_ticket_page_has_its_own_resend_key(client, login, desk):
    """Two tabs opened on one ticket: the two replies are two messages, not one "resent" form."""
    logged_in(login, desk.tech_it, client)
    path = f"/agent/tickets/{desk.it_ticket.id}"
    client.get(path)
    with statements() as sent:
        first_tab, second_tab = resend_key(client.get(path)), resend_key(client.get(path))
    assert sent == [] and first_tab != second_tab  # both copies came from the cache
    for key, body in ((first_tab, "From the first tab"), (second_tab, "From the second tab")):
        data = {"reply-body": body, "reply-action": "note", "reply-submission_key": key}
        assert client.post(f"{path}/reply", data=data).status_code == 302
    bodies = db.session.scalars(db.select(Message.body).where(Message.ticket_id == desk.it_ticket.id))
    assert sorted(bodies) == ["From the first tab", "From the second tab"]


def test_a_flash_message_shows_once(client, login, desk):
    login(desk.tech_it)
    path = f"/agent/tickets/{desk.it_ticket.id}"
    client.get(path)
    data = {"reply-body": "On it", "reply-action": "note", "reply-submission_key": "k-flash"}
    client.post(f"{path}/reply", data=data)
    assert b"Internal note added." in client.get(path).data
    assert b"Internal note added." not in client.get(path).data


def test_the_table_fragment_and_the_full_page_are_kept_apart(client, login, desk):
    login(desk.tech_it)
    for _ in range(2):
        assert b"<html" in client.get("/agent/?status=all").data
        fragment = client.get("/agent/?status=all", headers=HTMX)
        assert b"<html" not in fragment.data and b"VPN drops" in fragment.data


def test_another_browser_with_the_same_cookie_takes_the_normal_path(client, login, desk):
    """Flask-Login's session protection sees a different browser; the cache never bypasses it."""
    logged_in(login, desk.tech_it, client)
    client.get("/agent/")
    with statements() as sent:
        client.get("/agent/")
    assert sent == []  # this browser is served from the cache
    with statements() as sent:
        client.get("/agent/", headers={"User-Agent": "Another browser"})
    assert sent


@pytest.mark.committing  # the generation moves when a connection that wrote is checked in
def test_reading_moves_no_generation_and_writing_does(app, desk):
    generation = app.extensions["page_cache"].generation
    db.session.commit()  # the desk is set up (factories only flush)
    before = generation.read()
    db.session.scalars(db.select(Ticket)).all()
    db.session.commit()
    assert generation.read() == before
    fresh(desk.it_ticket.id).subject = "Changed"
    db.session.commit()
    after = generation.read()
    assert after != before
    assert WriteGeneration(generation.path).read() == after  # every process reads the same counter


@pytest.mark.committing  # a second app, with its own engine, reads the desk
def test_the_cache_can_be_turned_off(app, login, desk, tmp_path):
    uncached = create_app(make_test_config(app.config["DATABASE_URL"], str(tmp_path), PAGE_CACHE_SECONDS=0))
    assert uncached.extensions["page_cache"] is None
    db.session.commit()  # the desk is set up (factories only flush), for the other app to read
    client = login(desk.tech_it, as_client=uncached.test_client())
    with uncached.app_context():
        client.get("/agent/")
        with statements() as sent:
            assert client.get("/agent/").status_code == 200
        assert sent
        db.session.remove()
        db.engine.dispose()


def test_a_generation_file_that_cannot_be_written_turns_the_cache_off(tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    generation = WriteGeneration(str(folder / "write-generation"))
    assert generation.read() == generation.read()
    (folder / "write-generation").unlink()
    folder.rmdir()
    generation.advance()  # a writer's commit is never failed by the cache
    assert generation.read() != generation.read()  # nothing can be served any more


@pytest.mark.committing  # writes through a connection of its own, then drops it
def test_a_connection_dropped_after_its_commit_still_moves_the_generation(app, desk):
    """An invalidated connection is checked in at once (SQLAlchemy), so its write mark is not lost."""
    generation = app.extensions["page_cache"].generation
    ticket_id = desk.it_ticket.id
    db.session.commit()  # and ends the session's transaction: on SQLite it would hold the write lock
    before = generation.read()
    with db.engine.connect() as conn:
        conn.execute(db.update(Ticket).where(Ticket.id == ticket_id).values(subject="Changed"))
        conn.commit()
        conn.invalidate()  # e.g. the server went away before the connection was returned
        assert generation.read() != before


def test_the_generation_file_is_replaced_when_full_and_the_generation_still_moves(tmp_path):
    path = tmp_path / "write-generation"
    generation = WriteGeneration(str(path), rotate_at=3)
    seen = [generation.read()]
    for _ in range(7):
        generation.advance()
        seen.append(generation.read())
    assert all(a != b for a, b in pairwise(seen))  # every write moved it, rotations included
    assert path.stat().st_size < 3  # the file stays small
    assert sorted(p.name for p in tmp_path.iterdir()) == ["write-generation"]  # no leftovers
