"""`flask tickets auto-close` (issue 16 item 8): tickets resolved AUTO_CLOSE_DAYS ago with nothing
since close, by "System", once; anything touched since, or not resolved, stays as it is."""

from datetime import timedelta

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket, TicketEvent

from .agent_support import fresh


def _resolved(make, desk, days_ago, subject, touched_days_ago=None):
    when = utcnow() - timedelta(days=days_ago)
    ticket = make.ticket(
        subject=subject, requester=desk.requester, category=desk.it, priority=desk.ref.priorities["Normal"]
    )
    ticket.status, ticket.resolved_at = "resolved", when
    ticket.updated_at = utcnow() - timedelta(days=touched_days_ago) if touched_days_ago is not None else when
    db.session.commit()
    return ticket


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["tickets", "auto-close", *args])


def test_quiet_resolved_tickets_close_and_the_rest_stay(app, make, desk):
    quiet = _resolved(make, desk, 8, "Quiet")
    noted = _resolved(make, desk, 8, "Noted two days ago", touched_days_ago=2)
    recent = _resolved(make, desk, 3, "Resolved recently")
    waiting = make.ticket(subject="Waiting", requester=desk.requester, category=desk.it, status="waiting")
    waiting.updated_at = utcnow() - timedelta(days=30)
    db.session.commit()

    result = _run(app)
    assert result.exit_code == 0 and "Closed 1 ticket(s) resolved more than 7 day(s) ago" in result.output
    assert fresh(quiet.id).status == "closed"
    assert [fresh(t.id).status for t in (noted, recent, waiting)] == ["resolved", "resolved", "waiting"]
    event = db.session.scalar(
        db.select(TicketEvent).where(TicketEvent.ticket_id == quiet.id, TicketEvent.field == "status")
    )
    assert (event.old_value, event.new_value, event.actor_id) == ("resolved", "closed", None)

    again = _run(app)  # idempotent: nothing left to close
    assert "Closed 0 ticket(s)" in again.output
    assert (
        db.session.scalar(db.select(db.func.count(TicketEvent.id)).where(TicketEvent.ticket_id == quiet.id))
        == 1
    )


def test_days_can_be_given_and_zero_turns_it_off(app, make, desk):
    ticket = _resolved(make, desk, 3, "Three days")
    assert "Closed 0" in _run(app, "--days", "4").output
    assert "Closed 1" in _run(app, "--days", "2").output and fresh(ticket.id).status == "closed"
    app.config["AUTO_CLOSE_DAYS"] = 0
    try:
        assert "off" in _run(app).output
    finally:
        app.config["AUTO_CLOSE_DAYS"] = 7
    assert _run(app, "--days", "-1").exit_code != 0
    given = _run(app, "--days", "0")  # said as given, not blamed on the setting
    assert (
        given.exit_code == 0 and "Automatic closing is off (--days is 0): nothing was closed." in given.output
    )


def test_more_days_than_dates_go_back_are_refused_with_a_message(app, make, desk):
    """The cutoff is today less DAYS: a million days is before the year 1 (an OverflowError's
    traceback, and nothing said of what to do)."""
    ticket = _resolved(make, desk, 10, "Old enough")
    refused = _run(app, "--days", "1000000")
    assert refused.exit_code == 2 and not isinstance(refused.exception, OverflowError)
    assert "'--days': 1000000 is not in the range 0<=x<=36500" in refused.output
    app.config["AUTO_CLOSE_DAYS"] = 1_000_000
    try:
        refused = _run(app)
    finally:
        app.config["AUTO_CLOSE_DAYS"] = 7
    assert refused.exit_code == 1 and not isinstance(refused.exception, OverflowError)
    assert "AUTO_CLOSE_DAYS is 1,000,000: set it to at most 36,500 days" in refused.output
    assert fresh(ticket.id).status == "resolved"
    largest = _run(app, "--days", "36500")  # the largest runs, and closes what is that old: nothing
    assert largest.exit_code == 0 and "Closed 0" in largest.output and fresh(ticket.id).status == "resolved"


def test_the_history_shows_the_system_closed_it(client, login, make, desk):
    ticket = _resolved(make, desk, 10, "Shown in history")
    from flask import current_app

    _run(current_app._get_current_object())
    login(desk.tech_it)
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "System" in page and "Closed" in page
    assert db.session.get(Ticket, ticket.id).status == "closed"
