"""Seeing each other work on a ticket (issue 16 item 6): who else is on its page and who is writing
(a heartbeat kept in the database), and the notice of what others changed since the page loaded."""

import re
from datetime import timedelta

import pytest
import time_machine

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import editing
from helpdesk.tickets.models import TicketPresence

from .agent_support import HTMX


def page_url(ticket):
    return f"/agent/tickets/{ticket.id}"


def seen_of(client, ticket):
    """The change-notice stamp the ticket page carries (what the heartbeat sends back)."""
    html = client.get(page_url(ticket)).get_data(as_text=True)
    version = re.search(r'id="live-seen-version" name="seen_version" value="(\d+)"', html).group(1)
    message = re.search(r'id="live-seen-message" name="seen_message" value="(\d+)"', html).group(1)
    return {"seen_version": version, "seen_message": message}


def beat(client, ticket, seen=None):
    return client.post(f"{page_url(ticket)}/presence", data=seen or {}, headers=HTMX)


def text_of(response):
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).strip()


@pytest.fixture
def second(app, login):
    """A second browser, logged in as whoever the test says."""
    return lambda user: login(user, as_client=app.test_client())


def test_the_page_asks_for_a_heartbeat_every_ten_seconds(client, login, desk):
    login(desk.tech_it)
    html = client.get(page_url(desk.it_ticket)).get_data(as_text=True)
    assert f'hx-post="/agent/tickets/{desk.it_ticket.id}/presence"' in html
    assert 'hx-trigger="load, every 10s"' in html
    assert 'id="change-notice" role="status" aria-live="polite"' in html


def test_two_agents_on_one_ticket_see_each_other(client, login, desk, second):
    login(desk.tech_it)
    ada = second(desk.admin)
    assert "No other agent is on this ticket." in text_of(beat(client, desk.it_ticket))
    assert "Ivan IT is viewing" in text_of(beat(ada, desk.it_ticket))
    answer = text_of(beat(client, desk.it_ticket))
    assert "Ada Admin is viewing" in answer and "Ivan IT" not in answer  # never oneself
    assert "No other agent" in text_of(beat(ada, desk.sales_ticket))  # presence is per ticket


def test_an_agent_who_types_shows_as_writing_for_a_while(client, login, desk, second):
    login(desk.tech_it)
    ada = second(desk.admin)
    beat(client, desk.it_ticket)
    saved = ada.post(f"{page_url(desk.it_ticket)}/draft", data={"reply-body": "Looking into"}, headers=HTMX)
    assert saved.status_code == 200 and "Draft saved." in saved.get_data(as_text=True)
    assert "Ada Admin is writing a reply" in text_of(beat(client, desk.it_ticket))
    beat(ada, desk.it_ticket)  # a plain heartbeat keeps the writing mark
    assert "Ada Admin is writing a reply" in text_of(beat(client, desk.it_ticket))
    with time_machine.travel(utcnow() + timedelta(seconds=25), tick=False):
        beat(ada, desk.it_ticket)
        assert "Ada Admin is viewing" in text_of(beat(client, desk.it_ticket))


def test_presence_expires_without_heartbeats_and_expired_rows_are_pruned(client, login, desk, second):
    login(desk.tech_it)
    ada = second(desk.admin)
    beat(ada, desk.it_ticket)
    assert "Ada Admin is viewing" in text_of(beat(client, desk.it_ticket))
    with time_machine.travel(utcnow() + timedelta(seconds=31), tick=False):
        assert "No other agent is on this ticket." in text_of(beat(client, desk.it_ticket))
        db.session.expire_all()
        rows = db.session.query(TicketPresence).filter_by(ticket_id=desk.it_ticket.id).all()
        assert [row.user_id for row in rows] == [desk.tech_it.id]  # Ada's row went


def test_an_agent_without_the_category_gets_404_and_is_never_shown(client, login, desk, second):
    login(desk.tech_it)
    sara = second(desk.tech_sales)
    assert beat(sara, desk.it_ticket).status_code == 404
    assert (
        sara.post(f"{page_url(desk.it_ticket)}/draft", data={"reply-body": "x"}, headers=HTMX).status_code
        == 404
    )
    assert sara.post("/agent/tickets/999999/presence", headers=HTMX).status_code == 404  # missing: the same
    # Even a row left from before the category was taken away never shows her.
    db.session.add(
        TicketPresence(
            ticket_id=desk.it_ticket.id,
            user_id=desk.tech_sales.id,
            seen_at=utcnow(),
            expires_at=utcnow() + timedelta(seconds=30),
        )
    )
    db.session.commit()
    assert "Sara" not in text_of(beat(client, desk.it_ticket))


def test_customers_never_reach_presence(client, login, desk):
    login(desk.requester)
    assert beat(client, desk.it_ticket).status_code in (403, 404)
    page = client.get(f"/portal/tickets/{desk.it_ticket.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "presence" not in html and "change-notice" not in html and "live.js" not in html


def test_a_reply_by_someone_else_shows_a_notice_with_a_way_to_see_it(client, login, desk, second):
    login(desk.tech_it)
    ada = second(desk.admin)
    seen = seen_of(client, desk.it_ticket)
    assert "change-notice" in beat(client, desk.it_ticket, seen).get_data(as_text=True)
    assert "replied" not in text_of(beat(client, desk.it_ticket, seen))
    ada.post(
        f"{page_url(desk.it_ticket)}/reply", data={"reply-body": "Try again now", "reply-action": "reply"}
    )
    answer = beat(client, desk.it_ticket, seen)
    assert "Ada Admin replied just now" in text_of(answer)
    html = answer.get_data(as_text=True)
    assert 'hx-select="#messages"' in html and ">Show<" in html  # only the messages: the reply box stays
    # Once the page shows it (a reload or "Show"), the notice is gone.
    assert "replied" not in text_of(beat(client, desk.it_ticket, seen_of(client, desk.it_ticket)))


def test_a_change_by_someone_else_is_announced_but_not_ones_own(client, login, desk, second):
    login(desk.tech_it)
    ada = second(desk.admin)
    seen = seen_of(client, desk.it_ticket)
    editing.change_status(desk.it_ticket, desk.admin, "waiting", desk.it_ticket.version)
    db.session.commit()
    assert "Ada Admin changed the ticket" in text_of(beat(client, desk.it_ticket, seen))
    mine = seen_of(client, desk.it_ticket)
    editing.change_status(desk.it_ticket, desk.tech_it, "open", desk.it_ticket.version)
    db.session.commit()
    assert "changed" not in text_of(beat(client, desk.it_ticket, mine))
    client.post(
        f"{page_url(desk.it_ticket)}/reply", data={"reply-body": "My own note", "reply-action": "note"}
    )
    assert "note" not in text_of(beat(client, desk.it_ticket, seen_of(client, desk.it_ticket)))
    ada.post(f"{page_url(desk.it_ticket)}/reply", data={"reply-body": "Her note", "reply-action": "note"})
    assert "Ada Admin added an internal note" in text_of(beat(client, desk.it_ticket, mine))


def test_a_malformed_stamp_gives_no_notice_and_no_error(client, login, desk):
    login(desk.tech_it)
    for seen in (
        {"seen_version": "x", "seen_message": "1"},
        {"seen_version": "9" * 50, "seen_message": ""},
        {},
        # within 40 characters, yet no number a page ever carried: no 500 either
        {"seen_version": "1", "seen_message": "9" * 25},  # past SQLite's integers
        {"seen_version": "2147483648", "seen_message": "1"},  # past the INTEGER columns
        {"seen_version": "²", "seen_message": "1"},  # a digit to isdigit(), not to int()
        {"seen_version": "1", "seen_message": "١٢"},  # Arabic-Indic digits
    ):
        assert "No other agent" in text_of(beat(client, desk.it_ticket, seen))


def test_sending_the_reply_ends_writing(client, login, desk, second):
    login(desk.tech_it)
    ada = second(desk.admin)
    ada.post(f"{page_url(desk.it_ticket)}/draft", data={"reply-body": "Almost done"}, headers=HTMX)
    assert "Ada Admin is writing a reply" in text_of(beat(client, desk.it_ticket))
    ada.post(f"{page_url(desk.it_ticket)}/reply", data={"reply-body": "Done", "reply-action": "note"})
    assert "Ada Admin is viewing" in text_of(beat(client, desk.it_ticket))
