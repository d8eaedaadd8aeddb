"""The queue: filters and sort from the URL, keyset pages, htmx fragments, constant query count."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import TicketTag

from .agent_support import HTMX


@contextmanager
def counted_queries():
    """Every SQL statement sent to the database inside the block, starting as a new request would:
    nothing cached from earlier requests of the test (session objects expired, no cached user)."""
    from flask import g

    g.pop("_login_user", None)
    db.session.expire_all()
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "SAVEPOINT" not in statement:  # the test harness's, not the page's
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def subjects(response):
    """Ticket subjects in the order the table lists them."""
    import re

    return re.findall(r'<a href="/agent/tickets/\d+">([^<]+)</a>', response.get_data(as_text=True))


def test_full_page_and_htmx_fragment(client, login, desk):
    login(desk.tech_it)
    page = client.get("/agent/?status=all")
    assert b"<html" in page.data and b'id="queue-table"' in page.data and b"Filter" in page.data
    fragment = client.get("/agent/?status=all", headers=HTMX)
    assert fragment.status_code == 200
    assert b"<html" not in fragment.data and fragment.data.lstrip().startswith(b'<section id="queue-table"')
    assert "HX-Request" in fragment.headers["Vary"]
    assert b"VPN drops" in fragment.data
    tidy = client.get(
        "/agent/?status=all&category=&priority=&assignee=anyone&q=&sort=attention", headers=HTMX
    )
    assert tidy.headers["HX-Push-Url"] == "/agent/?status=all"  # the address bar gets the tidy URL


def test_a_category_the_agent_may_not_see_is_not_applied_and_the_page_says_so(client, login, desk):
    login(desk.tech_it)
    page = client.get(f"/agent/?status=all&category={desk.sales.id}").get_data(as_text=True)
    assert "That category is not one of yours: showing all of yours." in page
    assert "VPN drops" in page and desk.sales_ticket.subject not in page  # theirs, never Sales'
    assert "No tickets match" not in page


def test_columns_and_overdue_mark(client, login, desk, make):
    past = utcnow() - timedelta(days=2)
    late = make.ticket(
        subject="Printer on fire", requester=desk.requester, category=desk.it,
        priority=desk.ref.priorities["Urgent"], created_at=past, assignee=desk.tech_it,
    )  # fmt: skip
    db.session.add(TicketTag(ticket_id=late.id, name="hardware"))
    db.session.commit()
    login(desk.admin)
    html = client.get("/agent/").get_data(as_text=True)
    row = html[html.index("Printer on fire") - 300 : html.index("Printer on fire") + 1200]
    for text in ("Alice Archer", "IT", "Urgent", "New", "Ivan IT", "overdue", "hardware"):
        assert text in row
    assert subjects(client.get("/agent/"))[0] == "Printer on fire"  # most urgent first


def test_filters(client, login, desk, make):
    it, prio = desk.it, desk.ref.priorities
    a = make.ticket(subject="Alpha laptop", requester=desk.requester, category=it, priority=prio["High"],
                    assignee=desk.tech_it, status="open")  # fmt: skip
    b = make.ticket(subject="Beta mouse", requester=desk.customer, category=it, priority=prio["Low"],
                    status="waiting")  # fmt: skip
    make.ticket(
        subject="Gamma closed", requester=desk.customer, category=it, priority=prio["Low"], status="closed"
    )
    make.message(b, desk.customer, body="The SCROLL wheel squeaks")
    db.session.add(TicketTag(ticket_id=a.id, name="hardware"))
    db.session.commit()
    login(desk.admin)
    assert set(subjects(client.get("/agent/"))) == {"Alpha laptop", "Beta mouse", "VPN drops", "Quote please"}
    assert "Gamma closed" in subjects(client.get("/agent/?status=closed"))
    assert set(subjects(client.get(f"/agent/?priority={prio['High'].id}"))) == {"Alpha laptop"}
    assert set(subjects(client.get(f"/agent/?category={desk.sales.id}"))) == {"Quote please"}
    assert set(subjects(client.get(f"/agent/?assignee={desk.tech_it.id}"))) == {"Alpha laptop"}
    assert "Alpha laptop" not in subjects(client.get("/agent/?assignee=unassigned"))
    assert set(subjects(client.get("/agent/?tag=Hardware"))) == {"Alpha laptop"}
    assert set(subjects(client.get("/agent/?q=scroll"))) == {"Beta mouse"}  # message text, any case
    assert set(subjects(client.get("/agent/?q=laptop"))) == {"Alpha laptop"}  # subject
    assert set(subjects(client.get("/agent/?q=100%25"))) == set()  # LIKE wildcards are literal
    assert set(subjects(client.get("/agent/?status=bogus&priority=x&sort=nope&after=zzz"))) == set(
        subjects(client.get("/agent/"))
    )
    login(desk.tech_it)
    assert set(subjects(client.get("/agent/?assignee=me"))) == {"Alpha laptop"}
    # not theirs, even when asked: the filter is dropped (and said so), never a Sales ticket shown
    assert "Quote please" not in subjects(client.get(f"/agent/?category={desk.sales.id}"))


def test_overdue_only(client, login, desk, make):
    past = utcnow() - timedelta(days=3)
    make.ticket(subject="Late one", requester=desk.requester, category=desk.it,
                priority=desk.ref.priorities["High"], created_at=past)  # fmt: skip
    answered = make.ticket(subject="Late but answered", requester=desk.requester, category=desk.it,
                           priority=desk.ref.priorities["High"], created_at=past, status="open")  # fmt: skip
    answered.first_response_at = past + timedelta(minutes=5)
    db.session.commit()
    login(desk.tech_it)
    assert subjects(client.get("/agent/?overdue=1")) == ["Late one"]


@pytest.mark.parametrize("sort", ["due", "priority", "updated"])
def test_keyset_pages_cover_every_ticket_once(app, client, login, desk, make, monkeypatch, sort):
    monkeypatch.setitem(app.config, "PER_PAGE", 4)
    now = utcnow()
    prios = list(desk.ref.priorities.values())
    for n in range(11):
        same = now + timedelta(hours=n // 3)  # ties on due and update times: the id breaks them
        make.ticket(subject=f"T{n:02d}", requester=desk.requester, category=desk.it,
                    priority=prios[n % 4], created_at=same, due_at=same, updated_at=same)  # fmt: skip
    login(desk.tech_it)
    seen, url = [], f"/agent/?sort={sort}"
    for _ in range(10):
        response = client.get(url)
        seen.extend(subjects(response))
        html = response.get_data(as_text=True)
        if 'rel="next"' not in html:
            break
        url = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert sorted(seen) == sorted([f"T{n:02d}" for n in range(11)] + ["VPN drops"])
    if sort == "priority":
        ranks = {p.name: p.sort_order for p in prios}
        listed = {t: ranks[prios[int(t[1:]) % 4].name] for t in seen if t.startswith("T")}
        ordered = [listed[t] for t in seen if t in listed]
        assert ordered == sorted(ordered, reverse=True)


def test_filters_survive_paging_and_bulk_url(app, client, login, desk, make, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 1)
    make.ticket(
        subject="Second", requester=desk.requester, category=desk.it, priority=desk.ref.priorities["Low"]
    )
    login(desk.tech_it)
    html = client.get(f"/agent/?category={desk.it.id}&sort=updated").get_data(as_text=True)
    next_link = html.split('rel="next"')[0].rsplit('href="', 1)[1]
    assert f"category={desk.it.id}" in next_link and "sort=updated" in next_link and "after=u." in next_link
    assert f'action="/agent/bulk?category={desk.it.id}&amp;sort=updated"' in html


def _populate(make, desk, count, start):
    orgs = [make.OrganizationFactory() for _ in range(3)]
    for n in range(start, start + count):
        requester = make.customer(organization_id=orgs[n % 3].id)
        ticket = make.ticket(subject=f"Load {n}", requester=requester, category=desk.it,
                             priority=desk.ref.priorities["Normal"], assignee=desk.tech_it if n % 2 else None)  # fmt: skip
        db.session.add(TicketTag(ticket_id=ticket.id, name=f"tag{n}"))
    db.session.commit()


@pytest.mark.parametrize(
    "url", ["/agent/", "/agent/?sort=priority", "/agent/?sort=updated&q=load&assignee=unassigned&overdue="]
)
def test_queue_query_count_does_not_grow_with_rows(client, login, desk, make, url):
    login(desk.tech_it)
    _populate(make, desk, 2, 0)
    with counted_queries() as few:
        assert client.get(url).status_code == 200
    _populate(make, desk, 23, 2)
    with counted_queries() as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many) == len(few), many
    assert len(few) <= 11  # 10, and PostgreSQL's SET LOCAL plan_cache_mode (tickets/queue.py)


def test_ticket_page_query_count_does_not_grow_with_messages(client, login, desk, make):
    login(desk.tech_it)
    ticket = desk.it_ticket
    make.message(ticket, desk.requester)
    with counted_queries() as few:
        assert client.get(f"/agent/tickets/{ticket.id}").status_code == 200
    for n in range(12):
        author = make.customer() if n % 2 else make.technician(desk.it)
        make.message(ticket, author, internal=bool(n % 3))
    with counted_queries() as many:
        assert client.get(f"/agent/tickets/{ticket.id}").status_code == 200
    assert len(many) == len(few), many


def test_status_filter_tells_active_from_open(client, login, desk, make):
    make.ticket(subject="Being worked", requester=desk.requester, category=desk.it,
                priority=desk.ref.priorities["Low"], status="open")  # fmt: skip
    login(desk.tech_it)
    assert set(subjects(client.get("/agent/"))) == {"Being worked", "VPN drops"}  # active: new, open, waiting
    assert subjects(client.get("/agent/?status=open")) == ["Being worked"]
    html = client.get("/agent/?status=open").get_data(as_text=True)
    assert '<option value="open" selected>Open</option>' in html


def test_an_archived_category_s_tickets_can_still_be_filtered_but_not_moved_to(client, login, desk):
    desk.sales.archived = True
    db.session.commit()
    login(desk.admin)
    page = client.get(f"/agent/?status=all&category={desk.sales.id}").get_data(as_text=True)
    assert "not one of yours" not in page
    assert desk.sales_ticket.subject in page and "VPN drops" not in page  # Sales' only
    assert f'<option value="{desk.sales.id}" selected>Sales (archived)</option>' in page
    moves = page[page.index('<select id="bulk-category"') :].split("</select>", 1)[0]
    assert f'value="{desk.sales.id}"' not in moves and f'value="{desk.it.id}"' in moves  # none goes there
