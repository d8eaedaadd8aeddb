"""The knowledge-base report (/agent/reports/kb): deflections as defined in kb/tracking.py, top
articles with their helpful ratio, searches that found nothing; per category and period, CSV."""

from datetime import timedelta

import pytest
import time_machine

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb import tracking
from tests import kb_support as kb
from tests.csv_support import spreadsheet_rows

WINDOW = 60  # KB_DEFLECTION_MINUTES's default


@pytest.fixture
def setting(desk):
    vpn = kb.write(desk.tech_it, desk.it, "VPN drops every few minutes", tags="vpn")
    quote = kb.write(desk.tech_sales, desk.sales, "Volume discounts", tags="pricing")
    db.session.commit()
    desk.vpn, desk.quote = vpn, quote
    return desk


def open_suggestion(client, login, user, item, key):
    """`user` opens `item` from the suggestions of their new-ticket form `key` (its signed link)."""
    login(user)
    token = tracking.form_token(user, key)
    assert client.get(kb.url(item, ref="suggestion", form=token)).status_code == 200


def report_rows(client, table, **args):
    response = client.get("/agent/reports/kb", query_string={"format": "csv", "table": table, **args})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return spreadsheet_rows(response)


def test_a_deflection_is_a_suggestion_opened_and_no_ticket_within_the_window(client, login, setting, make):
    start = utcnow()
    left, stayed, late = make.customer(), make.customer(), make.customer()
    with time_machine.travel(start, tick=False):
        open_suggestion(client, login, left, setting.vpn, "form-left-0123456789")
        open_suggestion(client, login, left, setting.quote, "form-left-0123456789")  # same form, last article
        open_suggestion(client, login, stayed, setting.vpn, "form-stayed-0123456789")
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        make.ticket(requester=stayed, category=setting.it, created_at=utcnow())  # submitted anyway
        db.session.commit()
    with time_machine.travel(start + timedelta(minutes=WINDOW - 5), tick=False):
        open_suggestion(client, login, late, setting.vpn, "form-late-0123456789")
    with time_machine.travel(start + timedelta(minutes=WINDOW + 1), tick=False):
        outcomes = tracking.form_outcomes(
            start - timedelta(days=1), start + timedelta(days=1), window_minutes=WINDOW
        )
        states = {o.user_id: (o.state, o.article_id) for o in outcomes}
        assert states == {
            left.id: ("deflected", setting.quote.id),
            stayed.id: ("ticket", setting.vpn.id),
            late.id: ("pending", setting.vpn.id),
        }
        login(setting.admin)
        rows = report_rows(client, "deflections")
    assert rows[0][:5] == [
        "Category",
        "Forms with a suggestion opened",
        "Deflected (no ticket followed)",
        "Ticket submitted anyway",
        "Pending (window still open)",
    ]
    by_category = {row[0]: row[1:] for row in rows[1:]}
    assert by_category["IT"] == ["2", "0", "1", "1", "0.0"]
    assert by_category["Sales"] == ["1", "1", "0", "0", "100.0"]
    assert by_category["All"] == ["3", "1", "1", "1", "50.0"]


def test_a_ticket_after_the_window_does_not_undo_a_deflection(client, login, setting, make):
    start = utcnow()
    customer = make.customer()
    with time_machine.travel(start, tick=False):
        open_suggestion(client, login, customer, setting.vpn, "form-0123456789abc")
    with time_machine.travel(start + timedelta(minutes=WINDOW + 10), tick=False):
        make.ticket(requester=customer, category=setting.it, created_at=utcnow())
        db.session.commit()
        [outcome] = tracking.form_outcomes(
            start - timedelta(hours=1), start + timedelta(hours=1), window_minutes=WINDOW
        )
    assert outcome.state == "deflected"


def test_agents_and_visitors_opening_suggestions_count_nothing(client, login, setting):
    token = tracking.form_token(setting.tech_it, "form-0123456789abc")
    client.get(kb.url(setting.vpn, ref="suggestion", form=token))
    login(setting.tech_it)
    client.get(kb.url(setting.vpn, ref="suggestion", form=token))
    assert (
        tracking.form_outcomes(
            utcnow() - timedelta(days=1), utcnow() + timedelta(days=1), window_minutes=WINDOW
        )
        == []
    )


def test_top_articles_with_views_votes_and_ratio(client, login, setting, make, app):
    for _ in range(3):
        app.test_client().get(kb.url(setting.vpn))
    app.test_client().get(kb.url(setting.quote))
    for helpful in ("yes", "yes", "no"):
        app.test_client().post(kb.url(setting.vpn) + "/feedback", data={"helpful": helpful})
    login(setting.admin)
    rows = report_rows(client, "articles")
    assert rows[1] == ["VPN drops every few minutes", "IT", "3", "2", "1", "66.7", "0"]
    assert rows[2][:3] == ["Volume discounts", "Sales", "1"]
    page = client.get("/agent/reports/kb").get_data(as_text=True)
    assert "Top articles" in page and "66.7%" in page


def test_searches_without_results_are_the_gaps(client, login, setting):
    client.get("/kb/search?q=zanzibar")
    client.get("/kb/search?q=zanzibar")
    client.get("/kb/search?q=vpn")
    login(setting.admin)
    rows = report_rows(client, "searches")
    assert rows[0] == ["Search", "Times", "Last searched"]
    assert [r[:2] for r in rows[1:]] == [["zanzibar", "2"]]
    page = client.get("/agent/reports/kb").get_data(as_text=True)
    assert "2 of 3 searches found nothing" in page


def test_technicians_see_their_categories_and_filters_narrow(client, login, setting):
    client.get(kb.url(setting.vpn))
    client.get(kb.url(setting.quote))
    login(setting.tech_sales)
    assert [r[0] for r in report_rows(client, "articles")[1:]] == ["Volume discounts"]
    assert [r[0] for r in report_rows(client, "deflections")[1:]] == ["Sales", "All"]
    login(setting.admin)
    only_it = report_rows(client, "articles", category=setting.it.id)
    assert [r[0] for r in only_it[1:]] == ["VPN drops every few minutes"]
    old = report_rows(client, "articles", start="2020-01-01", end="2020-01-31")
    assert old[1:] == []


def test_the_report_is_for_agents_and_its_tables_only(client, login, setting):
    login(setting.customer)
    assert client.get("/agent/reports/kb").status_code == 404
    login(setting.admin)
    assert client.get("/agent/reports/kb?format=csv&table=nope").status_code == 404
    bad = client.get("/agent/reports/kb?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 200 and "Showing the default period instead." in bad.get_data(as_text=True)
    assert "Knowledge-base report" in client.get("/agent/reports").get_data(as_text=True)


def test_the_deflections_total_stays_on_the_page_whatever_the_number_of_categories(
    client, login, setting, make
):
    """The page shows the first 20 rows of a table, and the "All" total was the deflections
    table's last row: with 20 categories or more it was cut off. It stays under the rows."""
    zones = [make.CategoryFactory(name=f"Zone {n:02}") for n in range(1, 21)]
    db.session.commit()
    far = kb.write(setting.admin, zones[-1], "Zone twenty's printer")  # its row is past the 20th
    db.session.commit()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        open_suggestion(client, login, make.customer(), far, "form-zone-0123456789")
    with time_machine.travel(start + timedelta(minutes=WINDOW + 1), tick=False):
        login(setting.admin)
        rows = report_rows(client, "deflections")
        page = client.get("/agent/reports/kb").get_data(as_text=True)
    categories = len(rows) - 2  # the header and the total
    assert categories > 20
    assert rows[-1] == ["All", "1", "1", "0", "0", "100.0"]
    assert ["Zone 20", "1", "1", "0", "0", "100.0"] in rows
    table = page.split('id="table-kb-deflections"', 1)[1].split("</table>", 1)[0]
    body, foot = table.split("<tfoot", 1)
    assert body.count("<tr>") == 1 + 20 and "Zone 20" not in body  # the header and 20 rows
    assert (
        '<th scope="row">All</th><td class="num">1</td><td class="num">1</td><td class="num">0</td>'
        '<td class="num">0</td><td class="num">100%</td>' in foot
    )
    more = categories - 20
    assert (
        f"The first 20 of {categories} rows: {more} more rows are in the CSV, and counted in the “All” row."
        in page
    )


def test_a_technicians_csv_of_a_category_not_theirs_is_refused(client, login, setting):
    """It held their own categories' figures, with nothing to say the category was refused."""
    login(setting.tech_sales)
    download = client.get(
        "/agent/reports/kb", query_string={"format": "csv", "table": "articles", "category": setting.it.id}
    )
    text = download.get_data(as_text=True)
    assert download.status_code == 400 and download.mimetype == "text/plain"
    assert "Category: choose one of the listed options." in text and "Volume discounts" not in text


def test_a_csv_of_one_category_is_named_after_it(client, login, setting):
    login(setting.admin)
    download = client.get(
        "/agent/reports/kb",
        query_string={
            "format": "csv",
            "table": "searches",
            "category": setting.sales.id,
            "start": "2026-11-02",
            "end": "2026-11-08",
        },
    )
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="kb-searches-sales-2026-11-02-2026-11-08.csv"'
    )
