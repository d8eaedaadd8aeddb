"""The credit panel's time entries come a page at a time: a ticket worked for months holds hundreds.
The time charged is still over all of them, the agent's running timer is found on any page, and
an odd page number is answered with a page, never a server error."""

import re

import pytest

from helpdesk.credits.models import TimeEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from tests.credit_helpers import bank

from .test_agent_time_entries import text_of

HX = {"HX-Request": "true"}
PER_PAGE = 25  # the app's PER_PAGE


@pytest.fixture
def worked(make, ref):
    """A ticket with 60 entries of Ivan IT, 2 min and 2 credits each (the oldest note "Entry 1",
    the newest "Entry 60"), one more deleted (not counted in the time charged)."""
    customer = make.customer(name="Tess Time")
    account = bank("Time bank", 600, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    ivan = make.technician(ref.categories["IT"], name="Ivan IT")
    deleted = TimeEntry(
        ticket=ticket, agent=ivan, minutes=5, note="Deleted one", billed=0, deleted_at=utcnow()
    )
    db.session.add(deleted)
    for n in range(1, 61):
        db.session.add(
            TimeEntry(ticket=ticket, agent=ivan, minutes=2, note=f"Entry {n}", billed=2, minute_rate=1)
        )
    db.session.commit()
    return ticket, account, ivan


def notes(page):
    return re.findall(r"Note: </span>(Entry \d+|Deleted one)", page)


def test_the_panel_shows_a_page_of_entries_and_the_time_charged_over_all(client, login, worked):
    ticket, _account, ivan = worked
    login(ivan)
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert notes(page) == [f"Entry {n}" for n in range(60, 60 - PER_PAGE, -1)]  # newest first
    words = text_of(client.get(f"/agent/tickets/{ticket.id}"))
    assert "Time charged 120 min, 120 credits" in words and "61 entries, page 1 of 3" in words
    next_url = f"/agent/credits/tickets/{ticket.id}?page=2"
    assert f'href="{next_url}" rel="next" hx-get="{next_url}" hx-target="#credit-panel"' in page
    second = client.get(next_url).get_data(as_text=True)  # without JavaScript: the panel's own page
    assert notes(second) == [f"Entry {n}" for n in range(35, 10, -1)]
    assert "Time charged 120 min, 120 credits" in text_of(client.get(next_url))
    last = client.get(f"/agent/credits/tickets/{ticket.id}?page=3", headers=HX)
    assert b"<html" not in last.data
    assert notes(last.get_data(as_text=True)) == [f"Entry {n}" for n in range(10, 0, -1)] + ["Deleted one"]
    assert 'rel="next"' not in last.get_data(as_text=True)
    assert "Time charged 120 min, 120 credits" in text_of(last)


def test_an_entry_edited_on_a_later_page_comes_back_to_that_page(client, login, worked):
    ticket, _account, ivan = worked
    login(ivan)
    second = client.get(f"/agent/credits/tickets/{ticket.id}?page=2").get_data(as_text=True)
    entry = db.session.scalar(db.select(TimeEntry).where(TimeEntry.note == "Entry 20"))
    action = f"/agent/credits/time/{entry.id}/edit?page=2"
    assert f'action="{action}"' in second
    form = {"minutes": "3", "note": "Entry 20", "revision": str(entry.revision)}
    panel = client.post(action, data=form, headers=HX)
    assert notes(panel.get_data(as_text=True))[:1] == ["Entry 35"] and "121 min" in text_of(panel)
    db.session.refresh(entry)
    plain = client.post(action, data=form | {"minutes": "4", "revision": str(entry.revision)})
    assert plain.status_code == 302 and plain.location.endswith(
        f"/agent/credits/tickets/{ticket.id}?page=2#credit-panel"
    )


def test_the_running_timer_is_found_whatever_page_it_is_on(client, login, worked):
    """Started before the 60 entries were logged: on the last page, and still stopped from the first."""
    ticket, _account, ivan = worked
    oldest = db.session.scalar(db.select(TimeEntry).where(TimeEntry.note == "Deleted one"))
    oldest.minutes, oldest.deleted_at, oldest.started_at, oldest.note = None, None, utcnow(), ""
    db.session.commit()
    login(ivan)
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "Stop timer" in page and "Start timer" not in page
    assert "running, started" not in page  # its row is on page 3
    assert "running, started" in client.get(f"/agent/credits/tickets/{ticket.id}?page=3").get_data(
        as_text=True
    )


@pytest.mark.parametrize("odd", ["²", "-1", "0", "9" * 30, "abc", "99"])
def test_an_odd_or_past_the_end_page_is_answered_with_a_page(client, login, worked, odd):
    ticket, _account, ivan = worked
    login(ivan)
    response = client.get(f"/agent/credits/tickets/{ticket.id}", query_string={"page": odd})
    assert response.status_code == 200
    words = text_of(response)
    if odd == "99":
        assert "There is no page 99: the list has 3 pages. Go to the last page" in words
        assert "No time logged yet" not in words
    else:
        assert notes(response.get_data(as_text=True))[0] == "Entry 60"
    assert "Time charged 120 min, 120 credits" in words
