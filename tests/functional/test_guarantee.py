"""The guarantee pays at the deadline: every path to a refund, each paid exactly once."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from helpdesk.credits import guarantee, ledger, submission
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits.models import CreditAlert, LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.notices.models import Notice
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import STATUS_CLOSED, STATUS_RESOLVED, STATUS_WAITING, Message, Ticket
from tests.credit_helpers import balance_of, bank


@pytest.fixture
def desk(make, ref):
    it = ref.categories["IT"]
    agent = make.technician(it, name="Ivan IT", email="ivan@example.com")
    alice = make.customer(name="Alice", email="alice@example.com")
    account = bank("Business", 1000, user=alice)  # the Business plan carries the guarantee
    urgent = ref.priorities["Urgent"]
    urgent.resolution_minutes, urgent.resolution_refund_percent = 240, 50
    db.session.commit()
    return type("Desk", (), {"it": it, "agent": agent, "alice": alice, "account": account, "ref": ref})


def _submit(desk, key="k1", user=None, priority="Urgent"):
    ticket, _ = submission.submit_ticket(
        user or desk.alice,
        subject="Mail server down",
        body="Nobody can log in.",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities[priority].id,
        submission_key=key,
    )
    db.session.commit()
    return ticket


def _refunds(ticket):
    return db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind == "refund")
        .order_by(LedgerEntry.id)
    ).all()


def _later(minutes):
    return time_machine.travel(utcnow() + timedelta(minutes=minutes), tick=False)


def test_an_unanswered_paid_ticket_is_refunded_when_its_deadline_passes(desk):
    ticket = _submit(desk)
    assert ticket.paid_credits == 250 and balance_of(desk.account) == 750
    with _later(59):
        assert guarantee.sla_sweep().refunds == []  # not yet due
    with _later(61):
        result = guarantee.sla_sweep()
        db.session.commit()
    [entry] = result.refunds
    assert entry.amount == 250 and entry.idempotency_key == f"sla:{ticket.id}"
    assert "Response target missed" in entry.memo
    assert balance_of(desk.account) == 1000
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.paid_credits == 0
    [system] = [m for m in ticket.messages if m.source == "credits"]
    assert "250 credits paid for it have been refunded" in system.body
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sla_refund")).all()
    assert [m.to_addr for m in mails] == ["alice@example.com"]
    alert = db.session.scalar(select(CreditAlert).where(CreditAlert.ticket_id == ticket.id))
    assert alert.notified_at and "your bank" not in alert.text  # the admins' list names the bank
    assert alert.text.endswith("(250 credits to Alice's bank).")
    with _later(200):
        assert guarantee.sla_sweep().refunds == []  # once
    assert ledger.paid_credit_mismatches() == [] and ledger.ledger_mismatches() == []


def test_a_ticket_closed_by_an_agent_without_a_reply_is_still_refunded_at_the_deadline(desk):
    ticket = _submit(desk)
    lifecycle.set_status(ticket, desk.agent, STATUS_RESOLVED)
    db.session.commit()
    assert _refunds(ticket) == []
    with _later(61):
        guarantee.sla_sweep()
        db.session.commit()
    assert [e.amount for e in _refunds(ticket)] == [250]


def test_a_customer_who_withdraws_before_any_reply_gets_the_charge_back_at_once(desk, make):
    payg = make.customer(email="paula@example.com")
    account = bank("Pay as you go", 500, user=payg)  # no guarantee on this plan: a withdrawal still pays
    ticket = _submit(desk, user=payg)
    lifecycle.close_ticket(ticket, payg)
    db.session.commit()
    [entry] = _refunds(ticket)
    assert entry.amount == 250 and "withdrawn" in entry.memo and balance_of(account) == 500
    assert "closed before anyone answered" in ticket.messages[-1].body
    lifecycle.reopen_ticket(ticket, payg)
    db.session.commit()
    with _later(120):
        guarantee.sla_sweep()
        lifecycle.add_message(ticket, desk.agent, "Late, and already refunded.")
        db.session.commit()
    assert len(_refunds(ticket)) == 1  # one refund per ticket and target, whichever path came first


def test_a_withdrawn_ticket_reopened_is_back_at_a_free_priority_until_paid_again(desk, client, login):
    ticket = _submit(desk)
    login(desk.alice)
    assert client.post(f"/portal/tickets/{ticket.id}/close").status_code == 302
    assert balance_of(desk.account) == 1000  # the 250 came back
    client.post(f"/portal/tickets/{ticket.id}/reopen")
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "so it is back at Normal priority. Raise its priority again" in page
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.priority.name == "Normal" and ticket.paid_credits == 0
    assert balance_of(desk.account) == 1000  # reopening neither charges nor refunds again
    credit_quotes.upgrade_priority(ticket, desk.ref.priorities["Urgent"], desk.alice)
    db.session.commit()
    assert ticket.paid_credits == 250 and balance_of(desk.account) == 750  # urgent again: paid again
    assert ledger.paid_credit_mismatches() == [] and ledger.ledger_mismatches() == []


def test_a_ticket_paid_again_after_a_refund_carries_its_own_promise(desk):
    ticket = _submit(desk)
    lifecycle.close_ticket(ticket, desk.alice)  # withdrawn: 250 back
    lifecycle.reopen_ticket(ticket, desk.alice)  # back at Normal
    credit_quotes.upgrade_priority(ticket, desk.ref.priorities["Urgent"], desk.alice)  # 250 again
    db.session.commit()
    lifecycle.close_ticket(ticket, desk.alice)  # withdrawn again, still unanswered
    db.session.commit()
    assert [e.amount for e in _refunds(ticket)] == [250, 250] and balance_of(desk.account) == 1000
    lifecycle.reopen_ticket(ticket, desk.alice)
    credit_quotes.upgrade_priority(ticket, desk.ref.priorities["Urgent"], desk.alice)  # a third time
    db.session.commit()
    with _later(61):  # and this time nobody answers within the hour
        assert [e.amount for e in guarantee.sla_sweep().refunds] == [250]
        db.session.commit()
        assert guarantee.sla_sweep().refunds == []  # once
        lifecycle.add_message(ticket, desk.agent, "Late.")
        db.session.commit()
    assert [e.amount for e in _refunds(ticket)] == [250, 250, 250] and balance_of(desk.account) == 1000
    assert ledger.paid_credit_mismatches() == [] and ledger.ledger_mismatches() == []


def test_a_priority_an_agent_raised_for_free_stays_when_the_ticket_is_reopened(desk):
    ticket = _submit(desk, key="free", priority="Normal")
    credit_quotes.change_priority(ticket, desk.ref.priorities["Urgent"], desk.agent)  # no charge
    lifecycle.close_ticket(ticket, desk.alice)
    lifecycle.reopen_ticket(ticket, desk.alice)
    db.session.commit()
    assert ticket.priority.name == "Urgent" and _refunds(ticket) == []


def test_closing_after_an_agent_replied_refunds_nothing(desk):
    ticket = _submit(desk)
    lifecycle.add_message(ticket, desk.agent, "On it.")
    lifecycle.close_ticket(ticket, desk.alice)
    db.session.commit()
    assert _refunds(ticket) == []


def test_a_late_first_reply_refunds_at_once_and_the_sweep_adds_nothing(desk):
    ticket = _submit(desk)
    with _later(90):
        lifecycle.add_message(ticket, desk.agent, "Sorry for the wait.")
        db.session.commit()
        assert guarantee.sla_sweep().refunds == []
    assert [e.amount for e in _refunds(ticket)] == [250]


def test_the_guarantee_needs_a_plan_that_carries_it(desk, make):
    payg = make.customer(email="paula@example.com")
    bank("Pay as you go", 500, user=payg)
    ticket = _submit(desk, user=payg)
    with _later(61):
        guarantee.sla_sweep()
        db.session.commit()
    assert _refunds(ticket) == []


def test_a_missed_resolution_target_refunds_the_priority_s_share(desk):
    ticket = _submit(desk)
    lifecycle.add_message(ticket, desk.agent, "Looking into it.")  # on time
    db.session.commit()
    with _later(241):
        [entry] = guarantee.sla_sweep().refunds
        db.session.commit()
    assert entry.amount == 125 and entry.idempotency_key == f"sla-resolution:{ticket.id}"
    assert "Resolution target missed" in entry.memo and balance_of(desk.account) == 875
    with _later(300):
        lifecycle.set_status(ticket, desk.agent, STATUS_RESOLVED)
        db.session.commit()
    assert len(_refunds(ticket)) == 1


def test_resolving_late_refunds_at_that_moment_and_on_time_refunds_nothing(desk):
    late, on_time = _submit(desk, "a"), _submit(desk, "b")
    for ticket in (late, on_time):
        lifecycle.add_message(ticket, desk.agent, "On it.")
    lifecycle.set_status(on_time, desk.agent, STATUS_RESOLVED)
    db.session.commit()
    with _later(250):
        lifecycle.set_status(late, desk.agent, STATUS_RESOLVED)
        db.session.commit()
    assert [e.amount for e in _refunds(late)] == [125] and _refunds(on_time) == []


def test_a_thank_you_after_an_on_time_resolution_refunds_nothing(desk):
    """A customer's reply reopens a resolved ticket; the days it stood resolved were not the desk's
    to count, so the reopened ticket has what its clock had left, not a target missed at once."""
    ticket = _submit(desk)
    lifecycle.add_message(ticket, desk.agent, "Restarted the mail server.")
    with _later(60):  # resolved with 180 of its 240 minutes left
        lifecycle.set_status(ticket, desk.agent, STATUS_RESOLVED)
        db.session.commit()
    with _later(60 * 24):  # a day later, long past the resolve-by time
        lifecycle.add_message(ticket, desk.alice, "Thanks, all good!")  # reopens the ticket
        db.session.commit()
        assert ticket.status == "open" and guarantee.sla_sweep().refunds == []
        db.session.commit()
    with _later(60 * 24 + 170):  # resolved again within the 180 minutes it had left
        lifecycle.set_status(ticket, desk.agent, STATUS_RESOLVED)
        db.session.commit()
    assert _refunds(ticket) == [] and balance_of(desk.account) == 750
    with _later(60 * 48):  # reopened again and left open past what was left: the promise is missed
        lifecycle.add_message(ticket, desk.alice, "It broke again.")
        db.session.commit()
    with _later(60 * 48 + 11):
        [entry] = guarantee.sla_sweep().refunds
        db.session.commit()
    assert entry.amount == 125 and balance_of(desk.account) == 875


def test_waiting_on_the_customer_pauses_the_resolution_clock_only(desk):
    ticket = _submit(desk)
    due, resolve_by = ticket.due_at, ticket.resolution_due_at
    lifecycle.add_message(ticket, desk.agent, "Which server?")
    lifecycle.set_status(ticket, desk.agent, STATUS_WAITING)
    db.session.commit()
    assert ticket.resolution_due_at is None and ticket.resolution_paused_at is not None
    with _later(100):
        lifecycle.add_message(ticket, desk.alice, "The mail one.")  # the reply reopens the ticket
        db.session.commit()
    assert ticket.status == "open" and ticket.due_at == due
    assert ticket.resolution_due_at - resolve_by >= timedelta(minutes=100)
    with _later(241):  # the old resolve-by time has passed, the new one has not
        assert guarantee.sla_sweep().refunds == []


def test_lowering_the_priority_moves_the_reply_by_time_back(desk):
    ticket = _submit(desk)
    due = ticket.due_at
    credit_quotes.change_priority(ticket, desk.ref.priorities["Normal"], desk.agent)
    db.session.commit()
    assert ticket.due_at > due and ticket.resolution_due_at is None  # Normal has no resolution target


def test_a_paid_ticket_at_risk_warns_its_agents_once_in_the_app_and_by_mail(desk, make):
    other_it = make.technician(desk.it, email="ines@example.com")
    ticket = _submit(desk)
    with _later(44):  # 73 % of the hour
        assert guarantee.sla_sweep().warnings == []
    with _later(46):
        assert guarantee.sla_sweep().warnings == [(ticket.id, "response")]
        db.session.commit()
        assert guarantee.sla_sweep().warnings == []
    notices = db.session.scalars(select(Notice).order_by(Notice.user_id)).all()
    assert {n.user_id for n in notices} == {desk.agent.id, other_it.id}  # nobody assigned: the category's
    assert "is at risk" in notices[0].text
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sla_at_risk")).all()
    assert sorted(m.to_addr for m in mails) == ["ines@example.com", "ivan@example.com"]


def test_an_assigned_ticket_warns_only_its_assignee(desk, make):
    make.technician(desk.it, email="ines@example.com")
    ticket = _submit(desk)
    ticket.assignee = desk.agent
    db.session.commit()
    with _later(46):
        guarantee.sla_sweep()
        db.session.commit()
    assert [n.user_id for n in db.session.scalars(select(Notice))] == [desk.agent.id]


def test_free_tickets_get_no_warning_and_no_refund(desk, make):
    ticket = _submit(desk, key="free", priority="Normal")
    with _later(3 * 24 * 60):
        result = guarantee.sla_sweep()
    assert result.refunds == [] and result.warnings == [] and ticket.paid_credits == 0


def test_the_sla_sweep_command_reports_what_it_did(app, desk):
    _submit(desk)
    with _later(61):
        output = app.test_cli_runner().invoke(args=["credits", "sla-sweep"]).output
    assert "SLA sweep: 1 refund(s), 0 at-risk warning(s)." in output
    assert db.session.scalar(select(Message).where(Message.source == "credits")) is not None


def test_verify_catches_paid_credits_that_disagree_with_the_ledger(app, desk):
    ticket = _submit(desk)
    ticket.paid_credits = 999
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["credits", "verify"])
    assert (
        result.exit_code == 1
        and f"ticket {ticket.id}: paid credits 999, charges net of refunds 250" in result.output
    )


def test_a_closed_ticket_is_not_withdrawn_by_an_agent(desk):
    ticket = _submit(desk)
    lifecycle.set_status(ticket, desk.agent, STATUS_CLOSED)
    db.session.commit()
    assert _refunds(ticket) == []  # agents closing is not a withdrawal; the deadline decides


def _about(moment, expected):
    return abs(moment - expected) <= timedelta(minutes=1)


def test_an_agent_raising_a_ticket_whose_paid_target_ran_out_pays_that_target_back_first(desk):
    """The raise starts a new promise from now; the one paid for and missed before it (between two
    sweeps) is still paid back, not hidden by the new reply-by time."""
    ticket = _submit(desk, priority="High")
    with _later(245):  # High's 4 hours have passed, the sweep has not run yet
        credit_quotes.change_priority(ticket, desk.ref.priorities["Urgent"], desk.agent)
        db.session.commit()
    with _later(250):
        lifecycle.add_message(ticket, desk.agent, "Fixed.")  # within Urgent's hour from the raise
        guarantee.sla_sweep()
        db.session.commit()
    assert [e.amount for e in _refunds(ticket)] == [150] and balance_of(desk.account) == 1000
    assert "The response target for High priority was missed" in ticket.messages[-2].body


def test_a_customer_upgrading_a_ticket_whose_paid_target_ran_out_gets_that_target_back(desk):
    ticket = _submit(desk, priority="High")
    with _later(245):
        credit_quotes.upgrade_priority(ticket, desk.ref.priorities["Urgent"], desk.alice)
        db.session.commit()
    assert [e.amount for e in _refunds(ticket)] == [150]  # High's promise, missed: paid back
    assert ticket.paid_credits == 250 and balance_of(desk.account) == 750  # Urgent, paid from now
    with _later(310):  # Urgent's hour from the raise missed too: that charge comes back as well
        guarantee.sla_sweep()
        db.session.commit()
    assert [e.amount for e in _refunds(ticket)] == [150, 250] and balance_of(desk.account) == 1000


def test_a_customer_raising_a_two_day_old_ticket_buys_a_promise_from_now(desk):
    ticket = _submit(desk, key="old", priority="Normal")
    with _later(2 * 24 * 60):  # Normal's reply-by time (a day) has long passed
        credit_quotes.upgrade_priority(ticket, desk.ref.priorities["Urgent"], desk.alice)
        db.session.commit()
        now = utcnow()
        assert ticket.paid_credits == 250
        assert _about(ticket.due_at, now + timedelta(minutes=60))  # not overdue the moment it is bought
        assert _about(ticket.resolution_due_at, now + timedelta(minutes=240))
    with _later(2 * 24 * 60 + 50):
        assert guarantee.sla_sweep().refunds == []  # nothing missed yet: nothing paid back
    with _later(2 * 24 * 60 + 61):
        assert [e.amount for e in guarantee.sla_sweep().refunds] == [250]  # the hour bought was missed


def test_a_raise_keeps_an_old_clock_that_runs_out_sooner(desk):
    high = desk.ref.priorities["High"]
    high.resolution_minutes = 300
    db.session.commit()
    ticket = _submit(desk, key="high", priority="High")
    resolve_by = ticket.resolution_due_at
    with _later(200):  # 100 minutes left on High's resolution clock, Urgent's would give 240
        credit_quotes.change_priority(ticket, desk.ref.priorities["Urgent"], desk.agent)
        db.session.commit()
    assert _about(ticket.resolution_due_at, resolve_by)


def test_a_ticket_raised_while_waiting_on_the_customer_starts_its_clock_when_they_answer(desk):
    ticket = _submit(desk, key="wait", priority="Normal")
    lifecycle.add_message(ticket, desk.agent, "Which server?")
    lifecycle.set_status(ticket, desk.agent, STATUS_WAITING)
    db.session.commit()
    with _later(3 * 24 * 60):
        credit_quotes.change_priority(ticket, desk.ref.priorities["Urgent"], desk.agent)
        db.session.commit()
        assert ticket.resolution_due_at is None  # still paused
    with _later(4 * 24 * 60):
        lifecycle.add_message(ticket, desk.alice, "The mail one.")
        db.session.commit()
        assert _about(ticket.resolution_due_at, utcnow() + timedelta(minutes=240))


def test_an_answered_ticket_keeps_the_reply_by_time_it_was_answered_against(desk):
    ticket = _submit(desk, key="late", priority="Urgent")
    due = ticket.due_at
    with _later(90):
        lifecycle.add_message(ticket, desk.agent, "Sorry for the wait.")  # late: refunded
        credit_quotes.change_priority(ticket, desk.ref.priorities["Normal"], desk.agent)
        db.session.commit()
    assert ticket.due_at == due and ticket.first_response_at > ticket.due_at  # still late, as it was


def test_moving_a_raised_ticket_to_another_category_keeps_the_promise_from_the_raise(desk, make):
    from helpdesk.tickets import editing

    admin = make.admin(name="Ada Admin", email="ada@example.com")
    ticket = _submit(desk, key="moved", priority="Normal")
    with _later(2 * 24 * 60):
        credit_quotes.upgrade_priority(ticket, desk.ref.priorities["Urgent"], desk.alice)
        db.session.commit()
        bought = utcnow()
    with _later(2 * 24 * 60 + 10):
        editing.change_category(ticket, admin, desk.ref.categories["Sales"].id, ticket.version)
        db.session.commit()
        assert _about(ticket.due_at, bought + timedelta(minutes=60))  # not from creation: overdue
        assert _about(ticket.resolution_due_at, bought + timedelta(minutes=240))
    with _later(2 * 24 * 60 + 50):
        assert guarantee.sla_sweep().refunds == []  # the hour bought has not run out
    with _later(2 * 24 * 60 + 61):
        assert [e.amount for e in guarantee.sla_sweep().refunds] == [250]


def test_moving_an_answered_ticket_keeps_the_reply_by_time_it_was_answered_against(desk, make):
    from helpdesk.tickets import editing

    admin = make.admin(name="Ada Admin", email="ada@example.com")
    ticket = _submit(desk, key="answered", priority="Normal")
    with _later(2 * 24 * 60):
        credit_quotes.upgrade_priority(ticket, desk.ref.priorities["Urgent"], desk.alice)
        db.session.commit()
    due = ticket.due_at
    with _later(2 * 24 * 60 + 20):
        lifecycle.add_message(ticket, desk.agent, "On it.")  # on time against the hour bought
        db.session.commit()
        editing.change_category(ticket, admin, desk.ref.categories["Sales"].id, ticket.version)
        db.session.commit()
    assert ticket.due_at == due and ticket.first_response_at < ticket.due_at  # still on time


def test_a_ticket_answered_while_the_sweep_runs_gets_no_warning(desk, monkeypatch):
    """The sweep lists the tickets at risk, then warns each under its row lock: one answered
    between the two (an agent's reply committed meanwhile) is not warned about."""
    ticket = _submit(desk)
    listed = guarantee._due_ids

    def answered_meanwhile(condition, *more):
        ids = listed(condition, *more)
        if ticket.id in ids:  # listed as at risk: the reply's own transaction leaves the row so
            db.session.execute(
                Ticket.__table__.update().where(Ticket.id == ticket.id).values(first_response_at=utcnow())
            )
        return ids

    monkeypatch.setattr(guarantee, "_due_ids", answered_meanwhile)
    with _later(46):
        assert guarantee.sla_sweep().warnings == []
    db.session.commit()
    assert db.session.scalars(select(Notice)).all() == []
    assert db.session.get(Ticket, ticket.id).response_warned_at is None
