"""Report figures computed from known tickets, without HTTP."""

from datetime import UTC, date, datetime, timedelta

import pytest

from helpdesk.reports import build, service_levels
from helpdesk.reports import metrics as reports
from helpdesk.reports.metrics import ReportFilter, percentile
from tests import report_data
from tests.report_data import END, NOW, START


@pytest.fixture
def known(ref):
    report_data.build(ref)
    return ref


def rows_by_label(table):
    return {row[0]: row for row in table.rows}


@pytest.mark.parametrize(
    "values,fraction,expected",
    [
        ([], 0.5, None),
        ([7], 0.9, 7),
        ([1, 2, 3, 4], 0.5, 2.5),
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.5, 55),
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9, 91),
        ([600, 60, 180, 120], 0.9, 474),
    ],
)
def test_percentile_interpolates_between_closest_ranks(values, fraction, expected):
    result = percentile(values, fraction)
    assert result == (None if expected is None else pytest.approx(expected))


def test_daily_counts_fill_every_day_of_the_range(known, make):
    admin = make.admin()
    table = reports.daily_table(admin, ReportFilter(START, END))
    assert [row[0] for row in table.rows] == [START + timedelta(days=n) for n in range(7)]
    by_day = {row[0]: row[1:] for row in table.rows}
    assert by_day[date(2026, 11, 3)] == (10, 4)
    assert by_day[date(2026, 11, 4)] == (4, 0)
    assert by_day[date(2026, 11, 5)] == (1, 0)
    assert by_day[date(2026, 11, 6)] == (0, 1)
    assert by_day[date(2026, 11, 2)] == (0, 0)


def test_response_and_resolution_times(known, make):
    admin = make.admin()
    times = rows_by_label(reports.times_table(admin, ReportFilter(START, END)))
    # priority, answered, median and p90 first response, resolved, median and p90 resolution
    assert times["High"] == ("High", 10, 55.0, 91.0, 4, 150.0, 474.0)
    assert times["Urgent"] == ("Urgent", 3, 60.0, 84.0, 0, None, None)
    assert times["Low"] == ("Low", 0, None, None, 0, None, None)
    assert times["All priorities"][1] == 14 and times["All priorities"][4] == 5


def test_compliance_per_priority(known, make):
    admin = make.admin()
    compliance = rows_by_label(service_levels.compliance_table(admin, ReportFilter(START, END), now=NOW))
    # priority, clock, tickets, response met, missed, pending, compliance %, resolution met, missed, %
    assert compliance["High"][:7] == ("High", "business hours", 10, 10, 0, 0, 100.0)
    assert compliance["Urgent"][:7] == ("Urgent", "business hours", 4, 2, 2, 0, 50.0)
    assert compliance["Normal"][:7] == ("Normal", "business hours", 1, 1, 0, 0, 100.0)
    assert compliance["Low"] == ("Low", "business hours", 0, 0, 0, 0, None, 0, 0, None)


def test_unanswered_ticket_not_yet_due_is_pending(known, make):
    admin = make.admin()
    before_due = datetime(2026, 11, 4, 10, 30, tzinfo=UTC)
    compliance = rows_by_label(
        service_levels.compliance_table(admin, ReportFilter(START, END), now=before_due)
    )
    assert compliance["Urgent"][:7] == ("Urgent", "business hours", 4, 2, 1, 1, pytest.approx(66.7))


def test_volume_by_category_and_priority(known, make):
    admin = make.admin()
    flt = ReportFilter(START, END)
    assert rows_by_label(reports.category_table(admin, flt)) == {
        "Billing": ("Billing", 0, 0),
        "IT": ("IT", 14, 4),
        "Sales": ("Sales", 1, 1),
    }
    priorities = rows_by_label(reports.priority_table(admin, flt))
    assert priorities["High"] == ("High", 10, 4) and priorities["Urgent"] == ("Urgent", 4, 0)
    assert [row[0] for row in reports.priority_table(admin, flt).rows] == ["Urgent", "High", "Normal", "Low"]


def test_backlog_by_status_ignores_the_date_range(known, make):
    admin = make.admin()
    backlog = rows_by_label(reports.backlog_table(admin, ReportFilter(START, END), now=NOW))
    # 7 open High (6 in the range, 1 before it), 1 new Urgent unanswered past due, 3 waiting Urgent
    assert backlog["New"] == ("New", 1, 1)
    assert backlog["Open"] == ("Open", 7, 0)
    assert backlog["Waiting on customer"] == ("Waiting on customer", 3, 0)


def test_category_filter(known, make, ref):
    admin = make.admin()
    flt = ReportFilter(START, END, category_id=ref.categories["Sales"].id)
    report = build.build_report(admin, flt, now=NOW)
    assert report.totals == {"opened": 1, "resolved": 1, "backlog": 0}
    assert [row[0] for row in report.tables["categories"].rows] == ["Sales"]


def test_technician_sees_only_their_categories(known, make, ref):
    sales_tech = make.technician(ref.categories["Sales"])
    report = build.build_report(sales_tech, ReportFilter(START, END), now=NOW)
    assert report.totals == {"opened": 1, "resolved": 1, "backlog": 0}
    assert [row[0] for row in report.tables["categories"].rows] == ["Sales"]
    assert rows_by_label(report.tables["times"])["High"][1] == 0
    it_only = ReportFilter(START, END, category_id=ref.categories["IT"].id)
    assert build.build_report(sales_tech, it_only, now=NOW).totals["opened"] == 0


def test_customers_get_nothing_from_the_service(known, make):
    customer = make.customer()
    assert build.build_report(customer, ReportFilter(START, END), now=NOW).totals["opened"] == 0
