"""Queue pages back and forth (reverse keyset cursor) and the paid-ticket marker."""

from datetime import timedelta

import pytest

from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket

from ..credit_helpers import bank
from .agent_support import HTMX
from .test_agent_queue import counted_queries, subjects


def link(response, rel):
    """The URL of the pagination link with this rel, or None."""
    html = response.get_data(as_text=True)
    if f'rel="{rel}"' not in html:
        return None
    return html.split(f'rel="{rel}"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")


@pytest.fixture
def eleven(app, desk, make, monkeypatch):
    """Eleven more IT tickets (12 with the desk's), with ties on due and update times; 4 a page."""
    monkeypatch.setitem(app.config, "PER_PAGE", 4)
    now = utcnow()
    prios = list(desk.ref.priorities.values())
    for n in range(11):
        same = now + timedelta(hours=n // 3)
        make.ticket(subject=f"T{n:02d}", requester=desk.requester, category=desk.it,
                    priority=prios[n % 4], created_at=same, due_at=same, updated_at=same)  # fmt: skip
    return desk


@pytest.mark.parametrize("sort", ["due", "priority", "updated", "due_desc", "priority_asc", "updated_asc"])
def test_previous_page_walks_back_over_the_same_pages(client, login, eleven, sort):
    login(eleven.tech_it)
    forward, url = [], f"/agent/?sort={sort}"
    while url:
        response = client.get(url)
        forward.append(subjects(response))
        url, last = link(response, "next"), response
    assert [len(p) for p in forward] == [4, 4, 4]
    assert link(client.get(f"/agent/?sort={sort}"), "prev") is None  # the first page has no way back
    backward, url = [], link(last, "prev")
    while url:
        response = client.get(url)
        backward.insert(0, subjects(response))
        url = link(response, "prev")
    assert backward == forward[:-1]


def test_previous_page_keeps_filters_and_answers_htmx_with_the_table(client, login, eleven):
    login(eleven.tech_it)
    second = link(client.get(f"/agent/?sort=updated&category={eleven.it.id}"), "next")
    response = client.get(second, headers=HTMX)
    back = link(response, "prev")
    assert "before=u." in back and f"category={eleven.it.id}" in back and "sort=updated" in back
    assert f'hx-get="{back.replace("&", "&amp;")}"' in response.get_data(as_text=True)
    previous = client.get(back, headers=HTMX)
    assert b"<html" not in previous.data and "HX-Request" in previous.headers["Vary"]
    assert previous.headers["HX-Push-Url"] == back
    assert subjects(previous) == subjects(client.get(f"/agent/?sort=updated&category={eleven.it.id}"))


def test_paging_back_near_the_start_gives_the_full_first_page(client, login, eleven):
    """Fewer than a page of rows before the cursor (e.g. tickets resolved meanwhile): the first page."""
    from helpdesk.tickets.queue import encode_cursor

    login(eleven.tech_it)
    first = subjects(client.get("/agent/"))
    third = db.session.scalar(db.select(Ticket).where(Ticket.subject == first[2]))
    response = client.get(f"/agent/?before={encode_cursor('due', third)}")
    assert subjects(response) == first and link(response, "prev") is None


def test_a_malformed_before_cursor_gives_the_first_page(client, login, eleven):
    login(eleven.tech_it)
    assert subjects(client.get("/agent/?before=d.x.1")) == subjects(client.get("/agent/"))


@pytest.mark.parametrize(
    "query",
    [
        "sort=due&after=d.%C2%B2.1",
        "sort=updated&before=u.1.%C2%B2",
        "sort=priority&after=p.1.%D9%A1.1",
        "after=a.1.1.%C2%B9",
    ],
)
def test_a_cursor_with_digits_that_are_not_ascii_gives_the_first_page(client, login, eleven, query):
    """A cursor is the page's own ASCII digits. "²" is a digit to str.isdigit() but no number to
    int() (the page answered 500); "١" (Arabic-Indic one) int() reads as 1, a cursor no page wrote."""
    login(eleven.tech_it)
    sort = dict(part.split("=") for part in query.split("&")).get("sort")
    first = client.get("/agent/" + (f"?sort={sort}" if sort else ""))
    response = client.get(f"/agent/?{query}")
    assert response.status_code == 200 and subjects(response) == subjects(first)


def test_paid_tickets_carry_the_credits_spent(client, login, desk, make):
    bank("Business", 1000, user=desk.requester)
    paid, _ = submission.submit_ticket(
        desk.requester,
        subject="Paid one",
        body="Urgent, please.",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Urgent"].id,
        submission_key="paid",
    )
    db.session.commit()
    login(desk.tech_it)
    html = client.get("/agent/").get_data(as_text=True)
    row = html[html.index("Paid one") : html.index("</tr>", html.index("Paid one"))]
    assert "250 credits" in row
    free = html[html.index("VPN drops") : html.index("</tr>", html.index("VPN drops"))]
    assert "credits" not in free


def test_paid_marker_adds_no_query_per_row(client, login, desk, make):
    bank("Business", 100_000, user=desk.requester)
    login(desk.tech_it)

    def submit(n):
        submission.submit_ticket(desk.requester, subject=f"Paid {n}", body="x", category_id=desk.it.id,
                              priority_id=desk.ref.priorities["High"].id, submission_key=f"p{n}")  # fmt: skip
        db.session.commit()

    submit(0)
    with counted_queries() as few:
        assert client.get("/agent/").status_code == 200
    for n in range(1, 8):
        submit(n)
    with counted_queries() as many:
        response = client.get("/agent/")
    assert response.get_data(as_text=True).count("150 credits") == 8
    assert len(many) == len(few)
