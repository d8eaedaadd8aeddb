"""The seat banner: a warning for every agent over the limit, a notice for admins near it, nothing for customers."""

import pytest
from sqlalchemy import event

from helpdesk.extensions import db

from .agent_support import HTMX

WARNING = "3 agents on a plan for 2 —"


@pytest.fixture
def limit(app, monkeypatch):
    def _set(value):
        monkeypatch.setitem(app.config, "AGENT_SEAT_LIMIT", value)
        monkeypatch.setitem(app.config, "UPGRADE_URL", "https://billing.example.com/upgrade")

    return _set


@pytest.mark.parametrize("url", ["/agent/", "/agent/tickets/{id}", "/portal/tickets"])
@pytest.mark.parametrize("who", ["admin", "tech_it"])
def test_over_the_limit_every_agent_page_warns(client, login, desk, limit, url, who):
    limit(2)  # desk has 3 agents
    login(getattr(desk, who))
    html = client.get(url.format(id=desk.it_ticket.id)).get_data(as_text=True)
    assert 'class="banner banner-warning" role="alert"' in html
    assert f'{WARNING} <a href="https://billing.example.com/upgrade">upgrade</a>' in html


def test_customers_never_see_it(client, login, desk, limit):
    limit(2)
    login(desk.requester)
    html = client.get("/portal/tickets").get_data(as_text=True)
    assert "agents on a plan" not in html and "seats used" not in html


def test_near_the_limit_only_admins_get_a_quiet_notice(client, login, desk, limit):
    limit(4)  # 3 of 4 = 75%: nothing
    login(desk.admin)
    assert b"seats used" not in client.get("/agent/").data
    limit(3)  # 3 of 3 = 100%, not over: the notice
    html = client.get("/agent/").get_data(as_text=True)
    assert 'class="banner banner-info" role="status"' in html and "3 of 3 agent seats used" in html
    assert "agents on a plan" not in html
    login(desk.tech_it)
    assert b"seats used" not in client.get("/agent/").data


def test_within_the_limit_no_banner(client, login, desk, limit):
    limit(10)
    login(desk.admin)
    assert b"banner-" not in client.get("/agent/").data


def test_one_seat_query_per_page_none_for_fragments(app, client, login, desk, limit):
    limit(2)
    login(desk.admin)
    counts = []

    def record(conn, cursor, statement, *args):
        if "AS seats_used" in statement:  # the layout's one query of counts
            counts.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/agent/")
        client.get("/agent/?status=all", headers=HTMX)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(counts) == 1  # the full page counts once; the htmx fragment has no layout, so no count
