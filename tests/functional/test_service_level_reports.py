"""Reports on the promise: compliance in business time, guarantee payouts, paid against free."""

from datetime import UTC, date, datetime, timedelta

import time_machine

from helpdesk.credits import guarantee, submission
from helpdesk.extensions import db
from helpdesk.reports import service_levels
from helpdesk.reports.metrics import ReportFilter
from helpdesk.tickets import lifecycle
from tests.credit_helpers import bank
from tests.csv_support import spreadsheet_text

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _submit(user, ref, priority, key, minutes_to_reply=None, agent=None):
    with time_machine.travel(MONDAY, tick=False):
        ticket, _ = submission.submit_ticket(
            user,
            subject=key,
            body="x",
            category_id=ref.categories["IT"].id,
            priority_id=ref.priorities[priority].id,
            submission_key=key,
        )
        db.session.commit()
    if minutes_to_reply is not None:
        with time_machine.travel(MONDAY + timedelta(minutes=minutes_to_reply), tick=False):
            lifecycle.add_message(ticket, agent, "Answer.")
            db.session.commit()
    return ticket


def test_payouts_count_refunded_tickets_credits_and_their_share_of_paid_ones(make, ref):
    alice, agent, admin = make.customer(), make.technician(ref.categories["IT"]), make.admin()
    bank("Business", 5000, user=alice)
    _submit(alice, ref, "Urgent", "on time", 30, agent)
    _submit(alice, ref, "Urgent", "late", 90, agent)  # refunded at the late reply
    _submit(alice, ref, "High", "never answered")
    _submit(alice, ref, "Normal", "free", 10, agent)
    with time_machine.travel(MONDAY + timedelta(hours=5), tick=False):
        guarantee.sla_sweep()  # the High ticket's four hours have passed
        db.session.commit()
    table = service_levels.payouts_table(admin, ReportFilter(date(2026, 11, 1), date(2026, 11, 30)))
    assert table.rows == [("2026-11", 3, 2, 400, 66.7)]


def test_first_response_times_are_banded_for_paid_and_free_tickets(make, ref):
    alice, agent, admin = make.customer(), make.technician(ref.categories["IT"]), make.admin()
    bank("Business", 5000, user=alice)
    _submit(alice, ref, "Urgent", "paid fast", 10, agent)
    _submit(alice, ref, "High", "paid slow", 200, agent)
    _submit(alice, ref, "Normal", "free slow", 600, agent)
    _submit(alice, ref, "Low", "free open")
    rows = {
        r[0]: r[1:]
        for r in service_levels.distribution_table(
            admin, ReportFilter(date(2026, 11, 1), date(2026, 11, 30))
        ).rows
    }
    assert rows["≤ 15 min"] == (1, 50.0, 0, 0.0)
    assert rows["≤ 4 h"] == (1, 50.0, 0, 0.0)
    assert rows["≤ 24 h"] == (0, 0.0, 1, 50.0)
    assert rows["unanswered"] == (0, 0.0, 1, 50.0)


def test_the_reports_page_shows_and_exports_the_new_tables(client, login, make, ref):
    login(make.admin())
    page = client.get("/agent/reports").get_data(as_text=True)
    assert "Guarantee payouts" in page and "First-response time, paid against free" in page
    assert "Target compliance (business time)" in page
    csv = spreadsheet_text(client.get("/agent/reports?format=csv&table=payouts"))
    assert csv.startswith(
        "Month,Paid tickets opened,Tickets refunded,Credits refunded,Share of paid tickets (%)"
    )
