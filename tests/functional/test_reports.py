"""The reports page: figures, charts, filters, technician scope and CSV downloads."""

import re

import pytest
from sqlalchemy import text

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.reports import metrics
from tests import report_data
from tests.csv_support import spreadsheet_rows
from tests.plans import sqlite_plan, statements_run
from tests.report_data import END, START

HX = {"HX-Request": "true"}
RANGE = f"start={START.isoformat()}&end={END.isoformat()}"


@pytest.fixture
def known(ref):
    report_data.build(ref)
    return ref


def test_report_page_shows_figures_tables_and_charts(client, login, make, known):
    login(make.admin())
    response = client.get(f"/agent/reports?{RANGE}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "From <strong>2026-11-02</strong> to <strong>2026-11-08</strong>" in page
    assert "15 opened, 5 resolved" in page
    assert (
        '<th scope="row">High</th><td class="num">10</td><td class="num">55 min</td><td class="num">1 h 31 min</td>'
        in page
    )
    assert '<td class="num">50%</td>' in page  # Urgent compliance
    assert page.count('role="img"') == 4
    assert 'aria-labelledby="chart-daily-title chart-daily-desc"' in page
    assert '<title id="chart-compliance-title">Response-target compliance by priority</title>' in page
    assert "style=" not in page and "<script>" not in page


def test_filter_with_htmx_returns_the_report_fragment(client, login, make, known):
    login(make.admin())
    response = client.get(f"/agent/reports?{RANGE}&category={known.categories['Sales'].id}", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="report-body"' in body
    assert "HX-Request" in response.headers["Vary"]
    assert "1 opened, 1 resolved" in body


def test_technician_report_is_limited_to_their_categories(client, login, make, known):
    login(make.technician(known.categories["Sales"]))
    page = client.get(f"/agent/reports?{RANGE}").get_data(as_text=True)
    assert "1 opened, 1 resolved" in page
    assert f'<option value="{known.categories["Sales"].id}">Sales</option>' in page
    assert ">IT</option>" not in page and '<th scope="row">IT</th>' not in page


def test_technician_cannot_pick_another_teams_category(client, login, make, known):
    login(make.technician(known.categories["Sales"]))
    response = client.get(f"/agent/reports?{RANGE}&category={known.categories['IT'].id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Category: choose one of the listed options." in page
    assert '<th scope="row">IT</th>' not in page
    download = client.get(
        f"/agent/reports?{RANGE}&category={known.categories['IT'].id}&format=csv&table=categories"
    )
    text = download.get_data(as_text=True)
    assert download.status_code == 400 and download.mimetype == "text/plain"
    assert "This CSV was not made: its filters were refused." in text
    assert "Category: choose one of the listed options." in text and "Sales" not in text


def test_backwards_range_is_explained(client, login, make, known):
    login(make.admin())
    page = client.get("/agent/reports?start=2026-11-08&end=2026-11-02").get_data(as_text=True)
    assert "The end date must be on or after the start date." in page
    assert "Showing the default period instead." in page


@pytest.mark.parametrize("path", ["/agent/reports", "/agent/reports/kb"])
def test_a_date_that_is_not_one_is_named(client, login, make, known, path):
    login(make.admin())
    page = client.get(f"{path}?start=2026-13-45&end=yesterday").get_data(as_text=True)
    assert "From: enter a date like 2026-12-31." in page and "To: enter a date like 2026-12-31." in page
    assert "Not a valid" not in page and "Showing the default period instead." in page


def _next_year():
    return utcnow().year + 1


@pytest.mark.parametrize(
    ("path", "table"), [("/agent/reports", "daily"), ("/agent/reports/kb", "deflections")]
)
@pytest.mark.parametrize(
    "query",
    [
        "end=9999-12-31",
        "start=9999-12-31",
        f"start={START.isoformat()}&end=9999-12-31",
        "start=0001-01-01",
        "end=0001-01-01",
        "start=1999-12-31&end=2000-01-05",
    ],
)
def test_a_date_out_of_reach_is_refused_with_the_dates_a_report_may_cover(
    client, login, make, known, path, table, query
):
    """The year 9999 answered 500 (the day after the end, or a start plus the default length, is
    past what a date holds): a date before 2000 or after next year is refused like any bad date,
    with the dates that may be chosen; a CSV of such a period is not made."""
    login(make.admin())
    response = client.get(f"{path}?{query}")
    page = response.get_data(as_text=True)
    reach = f"Choose a date from 2000-01-01 to {_next_year()}-12-31."
    assert response.status_code == 200 and reach in page and "Showing the default period instead." in page
    default = metrics.default_filter()
    assert (
        f"From <strong>{default.start.isoformat()}</strong> to <strong>{default.end.isoformat()}</strong>"
        in page
    )
    download = client.get(f"{path}?{query}&format=csv&table={table}")
    assert download.status_code == 400 and reach in download.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/agent/reports", "/agent/reports/kb"])
def test_the_first_and_last_days_in_reach_make_a_report(client, login, make, known, path):
    login(make.admin())
    first = client.get(f"{path}?start=2000-01-01").get_data(as_text=True)
    assert "From <strong>2000-01-01</strong> to <strong>2000-01-30</strong>" in first
    last = f"{_next_year()}-12-31"
    page = client.get(f"{path}?start={last}").get_data(as_text=True)
    assert f"From <strong>{last}</strong>" in page and "Choose a date" not in page
    page = client.get(f"{path}?end={last}").get_data(as_text=True)
    assert f"to <strong>{last}</strong>" in page and "Choose a date" not in page


def test_the_date_fields_show_the_range_the_report_covers(client, login, make, known):
    """Empty fields showed "mm/dd/yyyy" above a report of the last 30 days: they show its dates; a
    start alone is shown with the end the report used; a refused range keeps what was typed."""
    login(make.admin())
    default = metrics.default_filter()
    page = client.get("/agent/reports").get_data(as_text=True)
    assert f'id="start" name="start" type="date" value="{default.start.isoformat()}"' in page
    assert f'id="end" name="end" type="date" value="{default.end.isoformat()}"' in page
    page = client.get(f"/agent/reports?start={START.isoformat()}").get_data(as_text=True)
    shown_end = re.search(r'id="end" name="end" type="date" value="([0-9-]+)"', page).group(1)
    assert f"to <strong>{shown_end}</strong>" in page
    page = client.get("/agent/reports?start=2026-11-08&end=2026-11-02").get_data(as_text=True)
    assert 'value="2026-11-08"' in page and 'value="2026-11-02"' in page
    page = client.get("/agent/reports/kb").get_data(as_text=True)
    assert f'value="{default.start.isoformat()}"' in page


def test_csv_download_of_a_table(client, login, make, known):
    login(make.admin())
    response = client.get(f"/agent/reports?{RANGE}&format=csv&table=times")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="report-times-2026-11-02-2026-11-08.csv"'
    )
    rows = spreadsheet_rows(response)
    assert rows[0][:4] == [
        "Priority",
        "Answered",
        "Median first response (minutes)",
        "90th percentile first response (minutes)",
    ]
    high = next(row for row in rows if row[0] == "High")
    assert high == ["High", "10", "55.0", "91.0", "4", "150.0", "474.0"]
    low = next(row for row in rows if row[0] == "Low")
    assert low == ["Low", "0", "", "", "0", "", ""]


@pytest.mark.parametrize("table", ["daily", "categories", "priorities", "times", "compliance", "backlog"])
def test_every_table_downloads(table, client, login, make, known):
    login(make.technician(known.categories["IT"]))
    response = client.get(f"/agent/reports?{RANGE}&format=csv&table={table}")
    assert response.status_code == 200 and len(spreadsheet_rows(response)) > 1


def test_a_csv_filtered_to_a_category_says_which_in_its_name(client, login, make, known):
    """Two categories' downloads were both named report-daily-<dates>.csv."""
    login(make.admin())
    names = {
        name: client.get(
            f"/agent/reports?{RANGE}&category={known.categories[name].id}&format=csv&table=daily"
        ).headers["Content-Disposition"]
        for name in ("IT", "Sales")
    }
    assert names == {
        "IT": 'attachment; filename="report-daily-it-2026-11-02-2026-11-08.csv"',
        "Sales": 'attachment; filename="report-daily-sales-2026-11-02-2026-11-08.csv"',
    }


def test_a_csv_whose_dates_were_refused_is_not_the_default_periods(client, login, make, known):
    """A CSV cannot show "Showing the default period instead": it said nothing and held the last 30 days."""
    login(make.admin())
    download = client.get("/agent/reports?start=2026-11-08&end=2026-11-02&format=csv&table=daily")
    text = download.get_data(as_text=True)
    assert download.status_code == 400 and download.mimetype == "text/plain"
    assert "To: The end date must be on or after the start date." in text
    assert "Content-Disposition" not in download.headers


def test_a_csv_reads_right_in_a_spreadsheet(client, login, make, known):
    """Without a byte-order mark Excel read the UTF-8 as its legacy code page: "â‰¤ 15 min"."""
    login(make.admin())
    rows = spreadsheet_rows(client.get(f"/agent/reports?{RANGE}&format=csv&table=distribution"))
    assert rows[0][0] == "First reply within"
    assert [row[0] for row in rows[1:3]] == ["≤ 15 min", "≤ 1 h"]


def test_daily_csv_lists_every_day(client, login, make, known):
    login(make.admin())
    rows = spreadsheet_rows(client.get(f"/agent/reports?{RANGE}&format=csv&table=daily"))
    assert rows[0] == ["Day", "Opened", "Resolved"]
    assert rows[1] == ["2026-11-02", "0", "0"] and rows[2] == ["2026-11-03", "10", "4"] and len(rows) == 8


def test_unknown_csv_table_is_404(client, login, make):
    login(make.admin())
    assert client.get("/agent/reports?format=csv&table=users").status_code == 404


def test_csv_cells_cannot_become_spreadsheet_formulas(client, login, make, ref):
    make.CategoryFactory(name="=HYPERLINK(1)")
    login(make.admin())
    rows = spreadsheet_rows(client.get("/agent/reports?format=csv&table=categories"))
    assert ["'=HYPERLINK(1)", "0", "0"] in rows


@pytest.mark.parametrize("path", ["/agent/reports", "/agent/reports/kb"])
def test_a_refused_date_keeps_the_chosen_category(client, login, make, known, path):
    login(make.admin())
    sales = known.categories["Sales"].id
    page = client.get(f"{path}?start=2026-11-08&end=2026-11-02&category={sales}").get_data(as_text=True)
    assert "The end date must be on or after the start date." in page
    assert f'<option selected value="{sales}">Sales</option>' in page  # the select says Sales...
    assert f"category={sales}" in page  # ...and the report (its CSV links) is Sales', not everyone's
    assert '<th scope="row">IT</th>' not in page


def test_the_reports_period_is_read_through_the_tickets_dates_indexes(client, make, ref, login):
    """Every table of the report picks the period's tickets through ix_tickets_created or
    ix_tickets_resolved, never by reading the whole tickets table: on the 100,000-ticket bench
    desk that was 8 statements of 60-90 ms, the page 0.8 s instead of 0.3 (bench/README.md)."""
    agent = make.technician(ref.categories["IT"])
    login(agent)
    response, seen = statements_run(
        client,
        "/agent/reports",
        lambda s: "FROM tickets" in s and ("created_at >=" in s or "resolved_at >=" in s),
    )
    assert response.status_code == 200
    assert len(seen) >= 6
    db.session.commit()
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        connection.exec_driver_sql("ANALYZE")
        connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'tickets'")
        for index, stat in {  # what ANALYZE wrote on the bench desk
            None: "100000",
            "ix_tickets_created": "100000 1",
            "ix_tickets_resolved": "100000 2",
            "ix_tickets_category_status": "100000 33333 6000",
        }.items():
            connection.execute(
                text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('tickets', :idx, :stat)"),
                {"idx": index, "stat": stat},
            )
        connection.exec_driver_sql("ANALYZE sqlite_schema")  # reload the statistics
        plans = [sqlite_plan(statement, parameters, connection) for statement, parameters in seen]
        reads = [
            [step for step in plan if step.startswith(("SCAN tickets", "SEARCH tickets"))] for plan in plans
        ]
    else:  # the indexes can serve each statement (this small desk's tickets are cheaper read whole)
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plans = [
            [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
            for statement, parameters in seen
        ]
        reads = [
            [step for step in plan if "ix_tickets_created" in step or "ix_tickets_resolved" in step]
            for plan in plans
        ]
        assert not [step for plan in plans for step in plan if "Seq Scan on tickets" in step]
    db.session.commit()
    for plan, read in zip(plans, reads, strict=True):
        assert read and all("ix_tickets_created" in step or "ix_tickets_resolved" in step for step in read), (
            plan
        )
