"""Time mode: entries charge at the plan's rate; corrections are new ledger entries; time is never lost."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.credits import ledger as credits
from helpdesk.credits import time_entries
from helpdesk.credits.models import CreditAlert, LedgerEntry, TimeEntryRevision
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db
from tests.credit_helpers import balance_of, bank


@pytest.fixture
def setup(make, ref):
    customer = make.customer()
    account = bank("Time bank", 600, user=customer)
    agent = make.technician(ref.categories["IT"])
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    return account, agent, ticket


def test_logged_minutes_charge_at_the_plan_rate(setup):
    account, agent, ticket = setup
    entry, _created = time_entries.log_time(ticket, agent, 45, "Checked the VPN logs")
    db.session.commit()
    assert entry.billed == 45 and not entry.unbilled
    assert balance_of(account) == 555


def test_edit_books_a_correction_and_never_updates_the_old_entry(setup):
    account, agent, ticket = setup
    entry, _created = time_entries.log_time(ticket, agent, 45)
    db.session.commit()
    first = db.session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == f"time:{entry.id}:0"))
    time_entries.edit_entry(entry, agent, 30, "Less than I thought")
    db.session.commit()
    time_entries.edit_entry(entry, agent, 50, "More after all")
    db.session.commit()
    amounts = [
        e.amount
        for e in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.ticket_id == ticket.id).order_by(LedgerEntry.id)
        )
    ]
    assert amounts == [-45, 15, -20]
    assert first.amount == -45 and balance_of(account) == 550
    actions = [r.action for r in db.session.scalars(select(TimeEntryRevision).order_by(TimeEntryRevision.id))]
    assert actions == ["created", "edited", "edited"]
    assert credits.ledger_mismatches() == []


def test_delete_refunds_and_keeps_the_audit_trail(setup):
    account, agent, ticket = setup
    entry, _created = time_entries.log_time(ticket, agent, 45)
    db.session.commit()
    time_entries.delete_entry(entry, agent)
    db.session.commit()
    assert balance_of(account) == 600 and entry.deleted_at is not None and entry.billed == 0
    assert [r.action for r in entry.revisions] == ["created", "deleted"]


def test_time_beyond_the_floor_is_kept_unbilled_and_admins_alerted(setup):
    account, agent, ticket = setup
    entry, _created = time_entries.log_time(ticket, agent, 700)
    db.session.commit()
    assert entry.id and entry.minutes == 700 and entry.unbilled and entry.billed == 0
    assert balance_of(account) == 600
    alert = db.session.scalar(select(CreditAlert).where(CreditAlert.kind == "unbilled_time"))
    assert alert is not None and "700 min" in alert.text


def test_timer_rounds_up_to_whole_minutes(setup):
    account, agent, ticket = setup
    started = utcnow() - timedelta(minutes=12, seconds=5)
    entry = time_entries.start_timer(ticket, agent, now=started)
    assert time_entries.start_timer(ticket, agent).id == entry.id  # one running timer per agent and ticket
    time_entries.stop_timer(entry, agent, "Call with the customer")
    db.session.commit()
    assert entry.minutes == 13 and balance_of(account) == 587
    time_entries.stop_timer(entry, agent)  # stopping twice changes nothing
    db.session.commit()
    assert balance_of(account) == 587


def test_only_agents_working_the_ticket_log_time(setup, make, ref):
    _account, _agent, ticket = setup
    with pytest.raises(NotAllowed):
        time_entries.log_time(ticket, ticket.requester, 10)
    with pytest.raises(NotAllowed):
        time_entries.log_time(ticket, make.technician(ref.categories["Sales"]), 10)


def test_priority_plans_record_time_without_billing(make, ref):
    customer = make.customer()
    account = bank("Business", 1000, user=customer)
    agent = make.admin()
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    entry, _created = time_entries.log_time(ticket, agent, 30)
    db.session.commit()
    assert entry.billed == 0 and not entry.unbilled and balance_of(account) == 1000


def test_one_log_form_logs_once_even_after_its_entry_changed(setup):
    account, agent, ticket = setup
    entry, created = time_entries.log_time(ticket, agent, 30, "Call", submission_key="form-1")
    db.session.commit()
    again, created_again = time_entries.log_time(ticket, agent, 30, " Call ", submission_key="form-1")
    assert created and not created_again and again.id == entry.id
    time_entries.edit_entry(entry, agent, 10, "Call")
    db.session.commit()
    late, created_late = time_entries.log_time(ticket, agent, 30, "Call", submission_key="form-1")
    assert not created_late and late.id == entry.id  # the resend of a form whose entry was corrected
    assert balance_of(account) == 590


def test_a_kept_copy_of_a_log_form_with_other_minutes_is_another_entry(setup):
    """A revalidated page keeps its key (conditional GET): what was typed into it is logged."""
    account, agent, ticket = setup
    time_entries.log_time(ticket, agent, 30, "Call", submission_key="form-1")
    _entry, created = time_entries.log_time(ticket, agent, 20, "Call", submission_key="form-1")
    db.session.commit()
    assert created and balance_of(account) == 550


def test_only_who_logged_an_entry_or_an_admin_changes_it(setup, make, ref):
    account, agent, ticket = setup
    entry, _created = time_entries.log_time(ticket, agent, 30)
    colleague = make.technician(ref.categories["IT"])
    with pytest.raises(NotAllowed):
        time_entries.edit_entry(entry, colleague, 300, "")
    with pytest.raises(NotAllowed):
        time_entries.delete_entry(entry, colleague)
    time_entries.edit_entry(entry, make.admin(), 20, "")
    db.session.commit()
    assert entry.minutes == 20 and balance_of(account) == 580


def test_a_correction_starts_from_the_minutes_last_charged(setup):
    """An edit the bank could not cover kept the charge of the minutes before it: the next
    correction says it goes from those."""
    account, agent, ticket = setup
    entry, _created = time_entries.log_time(ticket, agent, 100)
    time_entries.edit_entry(entry, agent, 1000, "")  # 900 more than the 500 left: not charged
    assert entry.unbilled and entry.billed == 100
    time_entries.edit_entry(entry, agent, 200, "")
    db.session.commit()
    last = db.session.scalars(select(LedgerEntry).where(LedgerEntry.ticket_id == ticket.id)).all()[-1]
    assert last.memo == f"Correction: 100 → 200 min of agent time on ticket #{ticket.id}"
    assert balance_of(account) == 400 and not entry.unbilled
