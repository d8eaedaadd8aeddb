"""Time entries through the credit panel: one form logs once, an entry is changed by whoever logged
it (or an admin), and what a change charges or gives back is said to the agent and on the statement."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.credits import ledger, time_entries
from helpdesk.credits.models import LedgerEntry, TimeEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from tests.credit_helpers import balance_of, bank, plan

HX = {"HX-Request": "true"}


def text_of(response):
    """What the page says, tags taken out and spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def log_form_key(page):
    """The submission key of the panel's "Log time" form, as the page shows it."""
    return re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page).group(1)


@pytest.fixture
def work(make, ref):
    """A ticket of Tess Time (on Time bank, 600 credits, a credit a minute) and two IT technicians."""
    customer = make.customer(name="Tess Time")
    account = bank("Time bank", 600, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    ivan = make.technician(ref.categories["IT"], name="Ivan IT")
    olga = make.technician(ref.categories["IT"], name="Olga Other")
    db.session.commit()
    return ticket, account, ivan, olga


def test_a_log_time_form_sent_twice_logs_and_charges_once(client, login, work):
    ticket, account, ivan, _olga = work
    login(ivan)
    key = log_form_key(client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True))
    form = {"minutes": "30", "note": "Call", "submission_key": key}
    url = f"/agent/credits/tickets/{ticket.id}/time"
    assert client.post(url, data=form).status_code == 302  # without JavaScript: back to the ticket
    again = text_of(client.post(url, data=form, follow_redirects=True))
    assert "Already logged: these 30 min were logged from this form before." in again
    assert "Nothing was logged or charged again." in again
    assert db.session.scalars(select(TimeEntry.minutes)).all() == [30]
    assert balance_of(account) == 570
    resent = text_of(client.post(url, data=form, headers=HX))  # with JavaScript too
    assert "Already logged" in resent and "30 min, 30 credits" in resent
    assert balance_of(account) == 570


def test_each_log_time_form_shown_has_its_own_key(client, login, work):
    """The panel that comes back after a logged entry has a new key: the next entry is logged."""
    ticket, account, ivan, _olga = work
    login(ivan)
    url = f"/agent/credits/tickets/{ticket.id}/time"
    key = log_form_key(client.get(f"/agent/credits/tickets/{ticket.id}").get_data(as_text=True))
    panel = client.post(url, data={"minutes": "30", "submission_key": key}, headers=HX).get_data(as_text=True)
    next_key = log_form_key(panel)
    assert next_key != key
    client.post(url, data={"minutes": "30", "submission_key": next_key}, headers=HX)
    assert len(db.session.scalars(select(TimeEntry)).all()) == 2 and balance_of(account) == 540


def test_a_log_time_form_without_a_key_is_refused_and_kept(client, login, work):
    ticket, account, ivan, _olga = work
    login(ivan)
    response = client.post(
        f"/agent/credits/tickets/{ticket.id}/time", data={"minutes": "30", "note": "Call"}, headers=HX
    )
    page = response.get_data(as_text=True)
    assert "Nothing was logged: this form came from an old page." in text_of(response)
    assert 'value="30"' in page and 'value="Call"' in page and log_form_key(page)
    assert db.session.scalars(select(TimeEntry)).all() == [] and balance_of(account) == 600


def test_an_agent_changes_only_their_own_time_entries(client, login, make, work):
    ticket, account, ivan, olga = work
    entry, _created = time_entries.log_time(ticket, ivan, 30, "Call")
    db.session.commit()
    edit, delete = f"/agent/credits/time/{entry.id}/edit", f"/agent/credits/time/{entry.id}/delete"
    login(olga)
    panel = client.get(f"/agent/credits/tickets/{ticket.id}").get_data(as_text=True)
    assert "Ivan IT" in panel and "Call" in panel  # she sees his time
    assert edit not in panel and delete not in panel  # and has no controls on it
    assert client.post(edit, data={"minutes": "300", "note": "Call"}).status_code == 404
    assert client.post(delete, data={"confirmed_action": "yes"}).status_code == 404
    db.session.expire_all()
    assert (
        db.session.get(TimeEntry, entry.id).minutes == 30
        and db.session.get(TimeEntry, entry.id).deleted_at is None
    )
    assert balance_of(account) == 570
    login(ivan)
    assert edit in client.get(f"/agent/credits/tickets/{ticket.id}").get_data(as_text=True)
    login(make.admin())
    assert edit in client.get(f"/agent/credits/tickets/{ticket.id}").get_data(as_text=True)
    assert client.post(edit, data={"minutes": "20", "note": "Call"}, headers=HX).status_code == 200
    assert balance_of(account) == 580


def test_an_edit_says_what_changed_on_the_statement_and_to_the_agent(client, login, work):
    ticket, account, ivan, _olga = work
    entry, _created = time_entries.log_time(ticket, ivan, 30, "Call")
    db.session.commit()
    login(ivan)
    edited = client.post(
        f"/agent/credits/time/{entry.id}/edit", data={"minutes": "10", "note": "Call"}, headers=HX
    )
    assert "Saved: 10 min. 20 credits went back to Tess Time's bank." in text_of(edited)
    deleted = client.post(f"/agent/credits/time/{entry.id}/delete", data={"confirmed_action": "yes"})
    page = text_of(client.get(deleted.location))  # without JavaScript: said on the ticket page
    assert "Deleted. 10 credits went back to Tess Time's bank." in page
    assert balance_of(account) == 600
    login(ticket.requester)
    statement = text_of(client.get("/portal/credits"))
    assert f"Charge: 30 min of agent time on ticket #{ticket.id}" in statement
    assert f"Refund: Correction: 30 → 10 min of agent time on ticket #{ticket.id}" in statement
    assert f"Refund: Correction: 10 → 0 min of agent time on ticket #{ticket.id} (entry deleted)" in statement


def test_an_unbilled_entry_edited_down_says_what_it_charged(client, login, work):
    """1,200 min did not fit the bank; edited down to 100 they do, and are charged: said."""
    ticket, account, ivan, _olga = work
    first, _created = time_entries.log_time(ticket, ivan, 1200, "Migration")
    second, _created = time_entries.log_time(ticket, ivan, 900, "Backups")
    db.session.commit()
    assert first.unbilled and second.unbilled and balance_of(account) == 600
    login(ivan)
    edited = client.post(
        f"/agent/credits/time/{first.id}/edit", data={"minutes": "100", "note": "Migration"}, headers=HX
    )
    assert (
        "Saved: 100 min, 100 credits charged to Tess Time's bank (this time could not be charged before)."
        in text_of(edited)
    )
    answer = client.post(f"/agent/credits/time/{second.id}/edit", data={"minutes": "50", "note": "Backups"})
    assert "Saved: 50 min, 50 credits charged to Tess Time's bank" in text_of(client.get(answer.location))
    assert balance_of(account) == 450
    memos = db.session.scalars(select(LedgerEntry.memo).where(LedgerEntry.ticket_id == ticket.id)).all()
    assert memos == [
        f"100 min of agent time on ticket #{ticket.id}",  # the first charge of each: no "correction"
        f"50 min of agent time on ticket #{ticket.id}",
    ]


# --- An entry keeps the price it was logged at: the plan's rate, or nothing, then ---


def _memos(ticket):
    return db.session.scalars(
        select(LedgerEntry.memo).where(LedgerEntry.ticket_id == ticket.id).order_by(LedgerEntry.id)
    ).all()


def _edit(client, entry, minutes, note):
    return text_of(
        client.post(
            f"/agent/credits/time/{entry.id}/edit", data={"minutes": str(minutes), "note": note}, headers=HX
        )
    )


def test_an_edit_after_the_rate_went_up_moves_only_the_difference_at_the_rate_charged(client, login, work):
    """Logged at a credit a minute; the plan then costs 2. Fixing the note charges nothing, and more
    minutes are charged at the entry's own rate, also after an edit the bank could not cover."""
    ticket, account, ivan, _olga = work
    entry, _created = time_entries.log_time(ticket, ivan, 30, "Call")
    db.session.commit()
    plan("Time bank").minute_rate = 2
    db.session.commit()
    login(ivan)
    noted = _edit(client, entry, 30, "Call with Tess")
    assert "credits charged" not in noted and "went back" not in noted
    assert balance_of(account) == 570 and _memos(ticket) == [f"30 min of agent time on ticket #{ticket.id}"]
    assert "Time charged 30 min, 30 credits" in noted
    assert "Saved: 40 min, 10 credits charged to Tess Time's bank." in _edit(client, entry, 40, "Call")
    assert balance_of(account) == 560
    short = _edit(client, entry, 1000, "Call")  # 960 more than the bank holds: kept at 40 charged
    assert "these 1000 min could not be charged" in short and balance_of(account) == 560
    assert "Saved: 50 min, 10 credits charged to Tess Time's bank." in _edit(client, entry, 50, "Call")
    assert balance_of(account) == 550
    later, _created = time_entries.log_time(ticket, ivan, 10, "Follow-up")  # logged now: 2 a minute
    db.session.commit()
    assert later.billed == 20 and balance_of(account) == 530
    login(ticket.requester)
    statement = text_of(client.get("/portal/credits"))
    assert (
        f"Charge: Correction: 30 → 40 min of agent time on ticket #{ticket.id} #{ticket.id} -10" in statement
    )
    assert (
        f"Charge: Correction: 40 → 50 min of agent time on ticket #{ticket.id} #{ticket.id} -10" in statement
    )
    assert "30 → 30" not in statement


def test_time_logged_while_the_plan_did_not_bill_time_stays_unbilled(client, login, make, ref):
    """Bob's 45 min were logged on Free; his bank then moves to Time bank with 500 credits."""
    bob = make.customer(name="Bob Baker")
    account = bank("Free", user=bob)
    ticket = make.ticket(requester=bob, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    ivan = make.technician(ref.categories["IT"], name="Ivan IT")
    admin = make.admin(name="Ada Admin")
    entry, _created = time_entries.log_time(ticket, ivan, 45, "Reset the VPN client")
    ledger.move_to_plan(account, plan("Time bank"), admin)
    ledger.adjust(account, 500, "Welcome to Time bank", admin)
    db.session.commit()
    login(ivan)
    assert "Time charged 45 min, 0 credits" in _edit(client, entry, 45, "Reset the VPN client (typo)")
    assert "Time charged 50 min, 0 credits" in _edit(client, entry, 50, "Reset the VPN client")
    assert balance_of(account) == 500 and _memos(ticket) == []
    asked = text_of(client.post(f"/agent/credits/time/{entry.id}/delete"))
    assert "The entry stays in the audit trail." in asked and "go back" not in asked
    client.post(f"/agent/credits/time/{entry.id}/delete", data={"confirmed_action": "yes"}, headers=HX)
    assert balance_of(account) == 500 and _memos(ticket) == []
    time_entries.log_time(ticket, ivan, 10, "Work since the move")  # billed: the plan bills time now
    db.session.commit()
    assert balance_of(account) == 490


def test_deleting_an_entry_after_the_bank_left_the_time_plan_refunds_what_it_was_charged(
    client, login, make, work
):
    ticket, account, ivan, _olga = work
    plan("Time bank").minute_rate = 2
    db.session.commit()
    entry, _created = time_entries.log_time(ticket, ivan, 20, "Printer")
    ledger.move_to_plan(account, plan("Business"), make.admin())
    db.session.commit()
    assert entry.billed == 40 and balance_of(account) == 560
    login(ivan)
    delete = f"/agent/credits/time/{entry.id}/delete"
    asked = text_of(client.post(delete))
    assert (
        "The entry stays in the audit trail and the 40 credits it was charged go back to Tess Time's bank."
        in asked
    )
    done = text_of(client.post(delete, data={"confirmed_action": "yes"}, headers=HX))
    assert "Deleted. 40 credits went back to Tess Time's bank." in done
    assert "Time charged 0 min, 0 credits" in done
    assert balance_of(account) == 600 and _entry(entry).billed == 0
    login(ticket.requester)
    statement = text_of(client.get("/portal/credits"))
    assert (
        f"Refund: Correction: 20 → 0 min of agent time on ticket #{ticket.id} (entry deleted) #{ticket.id} +40"
        in statement
    )


# --- Timers of agents who may no longer work the ticket, and admins stopping a colleague's timer ---


def _running_for(ticket, agent, minutes):
    """`agent`'s timer on `ticket`, started `minutes` ago."""
    entry = time_entries.start_timer(ticket, agent)
    entry.started_at = utcnow() - timedelta(minutes=minutes, seconds=-20)
    db.session.commit()
    return entry


def _entry(entry):
    db.session.expire_all()
    return db.session.get(TimeEntry, entry.id)


def test_deactivating_an_agent_stops_and_charges_their_timer_once(client, login, make, work):
    ticket, account, ivan, _olga = work
    entry = _running_for(ticket, ivan, 34)
    login(make.admin(name="Ada Admin"))
    url = f"/admin/users/{ivan.id}/active"
    asked = text_of(client.post(url, data={"active": "0"}))
    assert f"Ivan IT's timer on #{ticket.id}, running since" in asked
    assert "will be stopped and 34 min (34 credits) charged to Tess Time's bank." in asked
    assert _entry(entry).running and balance_of(account) == 600  # asking changed nothing
    done = client.post(url, data={"active": "0", "confirmed_action": "yes"})
    page = text_of(client.get(done.location))
    assert (
        f"Ivan IT's timer on #{ticket.id} was stopped: 34 min, 34 credits charged to Tess Time's bank."
        in page
    )
    assert _entry(entry).minutes == 34 and balance_of(account) == 566
    client.post(url, data={"active": "0", "confirmed_action": "yes"})  # the form sent again
    assert balance_of(account) == 566
    keys = db.session.scalars(
        select(LedgerEntry.idempotency_key).where(LedgerEntry.ticket_id == ticket.id)
    ).all()
    assert keys == [f"time:{entry.id}:0"]
    login(ticket.requester)
    assert f"Charge: 34 min of agent time on ticket #{ticket.id}" in text_of(client.get("/portal/credits"))


def test_a_timer_past_24_hours_is_stopped_uncharged_for_an_admin_to_enter_the_minutes(
    client, login, make, work
):
    ticket, account, ivan, _olga = work
    entry = _running_for(ticket, ivan, 30 * 60)
    admin = make.admin(name="Ada Admin")
    login(admin)
    url = f"/admin/users/{ivan.id}/active"
    asked = text_of(client.post(url, data={"active": "0"}))
    assert "has run for more than 24 hours: it will be stopped without charging anything" in asked
    page = text_of(client.get(client.post(url, data={"active": "0", "confirmed_action": "yes"}).location))
    assert f"Ivan IT's timer on #{ticket.id} was stopped without charging anything" in page
    assert not _entry(entry).running and balance_of(account) == 600
    panel = text_of(client.get(f"/agent/credits/tickets/{ticket.id}"))
    assert "Ivan IT to be entered" in panel and "Minutes to enter" in panel
    edited = client.post(
        f"/agent/credits/time/{entry.id}/edit", data={"minutes": "120", "note": "Migration"}, headers=HX
    )
    assert "Saved: 120 min, 120 credits charged to Tess Time's bank" in text_of(edited)
    assert balance_of(account) == 480 and _entry(entry).minutes == 120


def test_demoting_an_agent_asks_first_then_stops_their_timer(client, login, make, work):
    ticket, account, ivan, _olga = work
    entry = _running_for(ticket, ivan, 10)
    login(make.admin(name="Ada Admin"))
    url = f"/admin/users/{ivan.id}/role"
    asked = text_of(client.post(url, data={"role": "customer"}))
    assert "Make Ivan IT customer?" in asked and "will be stopped and 10 min (10 credits) charged" in asked
    assert _entry(entry).running
    page = text_of(
        client.get(client.post(url, data={"role": "customer", "confirmed_action": "yes"}).location)
    )
    assert "Ivan IT is now customer." in page and "10 min, 10 credits charged to Tess Time's bank" in page
    assert balance_of(account) == 590


def test_losing_the_category_stops_the_timer_on_its_tickets(client, login, make, ref, work):
    ticket, account, ivan, _olga = work
    entry = _running_for(ticket, ivan, 5)
    login(make.admin(name="Ada Admin"))
    cell = f"/admin/permissions/{ivan.id}/{ref.categories['IT'].id}"
    answer = text_of(client.post(cell, data={}, headers=HX))  # the IT box unticked
    assert f"Revoked ✓ Ivan IT's timer on #{ticket.id} was stopped: 5 min, 5 credits charged" in answer
    assert _entry(entry).minutes == 5 and balance_of(account) == 595


def test_an_admin_stops_a_colleague_s_timer_from_the_panel(client, login, make, work):
    ticket, account, ivan, olga = work
    entry = _running_for(ticket, ivan, 20)
    stop = f"/agent/credits/time/{entry.id}/stop"
    login(olga)
    assert stop not in client.get(f"/agent/credits/tickets/{ticket.id}").get_data(as_text=True)
    assert client.post(stop, data={"confirmed_action": "yes"}).status_code == 404
    login(make.admin(name="Ada Admin"))
    assert "Stop Ivan IT's timer" in text_of(client.get(f"/agent/credits/tickets/{ticket.id}"))
    asked = text_of(client.post(stop, data={"minutes": ""}))
    assert f"Stop Ivan IT's timer on #{ticket.id}?" in asked and "20 min (20 credits)" in asked
    assert _entry(entry).running
    done = client.post(stop, data={"minutes": "", "confirmed_action": "yes"}, headers=HX)
    assert "Ivan IT 20" in text_of(done) and balance_of(account) == 580
    again = client.post(stop, data={"minutes": "", "confirmed_action": "yes"}, headers=HX)
    assert "This timer is already stopped: nothing more was charged." in text_of(again)
    assert balance_of(account) == 580


def test_an_admin_enters_the_minutes_of_a_colleague_s_forgotten_timer(client, login, make, work):
    ticket, account, ivan, _olga = work
    entry = _running_for(ticket, ivan, 26 * 60)
    login(make.admin(name="Ada Admin"))
    stop = f"/agent/credits/time/{entry.id}/stop"
    refused = text_of(client.post(stop, data={"minutes": ""}, headers=HX))
    assert "enter the minutes Ivan IT worked to stop it" in refused and _entry(entry).running
    client.post(stop, data={"minutes": "45", "confirmed_action": "yes"}, headers=HX)
    assert _entry(entry).minutes == 45 and balance_of(account) == 555
