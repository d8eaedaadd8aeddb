"""Pages show moments relative ("3 h ago", "in 21 h") with the exact time, in the viewer's time
zone, on hover (title) and for screen readers (visually hidden text); without JavaScript too."""

import re
from datetime import UTC, datetime, timedelta

import time_machine

from helpdesk.extensions import db

SUBMITTED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def moments(page):
    """(words, title, hidden text) of every relative <time> of the page."""
    pattern = r'<time datetime="[^"]+" title="([^"]+)" data-relative>([^<]*)<span class="visually-hidden"> \(([^)]+)\)</span></time>'
    return [(words, title, hidden) for title, words, hidden in re.findall(pattern, page)]


def _at(desk, moment):
    ticket = desk.it_ticket
    ticket.created_at = ticket.updated_at = moment
    ticket.due_at = moment + timedelta(hours=24)
    db.session.commit()
    return ticket


def test_the_queue_shows_updates_and_due_times_relative_with_the_exact_time(client, login, desk):
    desk.tech_it.timezone = "Europe/Berlin"
    _at(desk, SUBMITTED)
    with time_machine.travel(SUBMITTED + timedelta(hours=3, minutes=5), tick=False):
        login(desk.tech_it)
        page = client.get("/agent/").get_data(as_text=True)
    shown = moments(page)
    assert ("3 h ago", "Tue 1 Dec 2026, 10:30 CET", "Tue 1 Dec 2026, 10:30 CET") in shown  # last update
    assert ("tomorrow", "Wed 2 Dec 2026, 10:30 CET", "Wed 2 Dec 2026, 10:30 CET") in shown  # reply due
    assert "reply due <time" in page


def test_the_agent_ticket_page_shows_its_moments_relative(client, login, desk, make):
    ticket = _at(desk, SUBMITTED)
    note = make.message(ticket, desk.tech_it, body="Looking", internal=True)
    note.created_at = SUBMITTED + timedelta(minutes=20)
    db.session.commit()
    with time_machine.travel(SUBMITTED + timedelta(days=1, hours=1), tick=False):
        login(desk.tech_it)  # UTC
        page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    words = [w for w, _title, _hidden in moments(page)]
    assert "submitted <time" in page
    assert "yesterday" in words  # submitted, and the note
    assert ("yesterday", "Tue 1 Dec 2026, 09:50 UTC", "Tue 1 Dec 2026, 09:50 UTC") in moments(page)


def test_the_portal_list_and_ticket_page_show_moments_relative(client, login, desk):
    desk.requester.timezone = "America/New_York"
    ticket = _at(desk, SUBMITTED)
    with time_machine.travel(SUBMITTED + timedelta(minutes=42), tick=False):
        login(desk.requester)
        listing = client.get("/portal/tickets").get_data(as_text=True)
        page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert ("42 min ago", "Tue 1 Dec 2026, 04:30 EST", "Tue 1 Dec 2026, 04:30 EST") in moments(listing)
    assert ("42 min ago", "Tue 1 Dec 2026, 04:30 EST", "Tue 1 Dec 2026, 04:30 EST") in moments(page)
    assert ("tomorrow", "Wed 2 Dec 2026, 04:30 EST", "Wed 2 Dec 2026, 04:30 EST") in moments(
        page
    )  # response by


def test_a_page_kept_by_the_browser_is_rendered_again_once_its_words_change(client, login, desk):
    """The queue's ETag covers the relative words: within the same minute it answers 304, once
    "3 min ago" would read "4 min ago" it renders again."""
    _at(desk, SUBMITTED)
    with time_machine.travel(SUBMITTED + timedelta(minutes=3), tick=False):
        login(desk.tech_it)
        etag = client.get("/agent/").headers["ETag"]
    with time_machine.travel(SUBMITTED + timedelta(minutes=3, seconds=30), tick=False):
        assert client.get("/agent/", headers={"If-None-Match": etag}).status_code == 304
    with time_machine.travel(SUBMITTED + timedelta(minutes=4), tick=False):
        again = client.get("/agent/", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert "4 min ago" in again.get_data(as_text=True)
