"""The queue works the promise: "Needs attention" puts what is due first, and says which clock it shows."""

import re
from datetime import timedelta

import pytest
import time_machine

from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle, queue
from helpdesk.tickets.models import STATUS_RESOLVED, STATUS_WAITING
from tests.credit_helpers import bank


@pytest.fixture
def desk(make, ref, login, client):
    it = ref.categories["IT"]
    agent = make.technician(it, name="Ivan IT", email="ivan@example.com")
    alice = make.customer(name="Alice", email="alice@example.com")
    bank("Business", 5000, user=alice)
    ref.priorities["High"].resolution_minutes = 8 * 60
    db.session.commit()
    login(agent)
    return type("Desk", (), {"it": it, "agent": agent, "alice": alice, "ref": ref})


def _ticket(desk, subject, priority="Normal", minutes_ago=0):
    with time_machine.travel(utcnow() - timedelta(minutes=minutes_ago), tick=False):
        ticket, _ = submission.submit_ticket(
            desk.alice,
            subject=subject,
            body="Details.",
            category_id=desk.it.id,
            priority_id=desk.ref.priorities[priority].id,
            submission_key=subject,
        )
    db.session.commit()
    return ticket


def _order(client, **args):
    page = client.get("/agent/", query_string=args).get_data(as_text=True)
    return re.findall(r'<a href="/agent/tickets/\d+">([^<]+)</a>', page), page


def test_needs_attention_is_the_default_and_puts_paid_tickets_at_risk_first(client, desk):
    # Created oldest first; the paid Urgent one is 50 min into its hour (at risk), due in 10 min.
    answered = _ticket(desk, "Answered weeks ago", "Urgent", minutes_ago=60 * 24 * 20)
    with time_machine.travel(answered.created_at + timedelta(minutes=10), tick=False):
        lifecycle.add_message(answered, desk.agent, "Fixed.")
        db.session.commit()
    _ticket(desk, "Normal, due tomorrow", "Normal", minutes_ago=60)
    _ticket(desk, "Low, due in days", "Low", minutes_ago=10)
    resolving = _ticket(desk, "High, answered, resolve by", "High", minutes_ago=30)
    lifecycle.add_message(resolving, desk.agent, "Working on it.")
    db.session.commit()
    _ticket(desk, "Urgent, paid, at risk", "Urgent", minutes_ago=50)
    order, page = _order(client)
    assert order == [
        "Urgent, paid, at risk",
        "Normal, due tomorrow",
        "Low, due in days",
        "High, answered, resolve by",
        "Answered weeks ago",
    ]
    assert '<option value="attention" selected>Needs attention</option>' in page
    rows = page.split("<tbody>")[1]
    first = rows.split("</tr>")[0]
    assert "clock-row-at_risk" in first and "reply due" in first and "at risk</strong>" in first
    assert "resolve due" in rows.split("</tr>")[3]
    assert re.search(
        r"answered <time[^>]*>[^<]+<span class=\"visually-hidden\">[^<]+</span></time> \(on time\)",
        rows.split("</tr>")[4],
    )


def test_a_met_deadline_never_sorts_a_ticket_up(client, desk):
    old = _ticket(desk, "Old and answered", "Urgent", minutes_ago=60 * 24 * 30)
    lifecycle.add_message(old, desk.agent, "Done.")
    db.session.commit()
    _ticket(desk, "Fresh Normal", "Normal")
    order, _ = _order(client)
    assert order == ["Fresh Normal", "Old and answered"]


def test_breached_tickets_are_marked_and_waiting_ones_say_so(client, desk):
    _ticket(desk, "Overdue Urgent", "Urgent", minutes_ago=90)
    waiting = _ticket(desk, "Waiting High", "High", minutes_ago=20)
    lifecycle.add_message(waiting, desk.agent, "Which printer?")
    lifecycle.set_status(waiting, desk.agent, STATUS_WAITING)
    db.session.commit()
    _order_, page = _order(client)
    rows = page.split("<tbody>")[1].split("</tr>")
    assert "overdue</strong>" in rows[0] and "clock-row-breached" in rows[0]
    assert "waiting on customer" in rows[1]


def _all_pages(client, **args):
    """Walk every page forward, then back from the last, collecting subjects."""
    forward, cursor, pages = [], None, []
    while True:
        query = dict(args, **({"after": cursor} if cursor else {}))
        page = client.get("/agent/", query_string=query).get_data(as_text=True)
        pages.append(page)
        forward += re.findall(r'<a href="/agent/tickets/\d+">([^<]+)</a>', page)
        found = re.search(r'href="/agent/\?[^"]*after=([^"&]+)[^"]*" rel="next"', page)
        if not found:
            return forward, pages
        cursor = found.group(1)


def test_keyset_pages_cover_every_group_once_in_order(app, client, desk, make):
    app.config["PER_PAGE"] = 4
    try:
        for n in range(5):
            _ticket(desk, f"Unanswered {n}", "Normal", minutes_ago=n)
        for n in range(3):
            t = _ticket(desk, f"Resolving {n}", "High", minutes_ago=n)
            lifecycle.add_message(t, desk.agent, "On it.")
        for n in range(4):
            t = _ticket(desk, f"Done {n}", "Low", minutes_ago=100 + n)
            lifecycle.add_message(t, desk.agent, "Fixed.")
            lifecycle.set_status(t, desk.agent, STATUS_RESOLVED)
        db.session.commit()
        everything, pages = _all_pages(client, status="all")
        expected = [
            r.subject for r in queue.queue_page(desk.agent, queue.QueueFilters(status="all"), 100).rows
        ]
        assert everything == expected and len(everything) == 12 and len(set(everything)) == 12
        assert everything[:5] == [f"Unanswered {n}" for n in (4, 3, 2, 1, 0)]  # earliest reply-by first
        assert everything[-4:] == [f"Done {n}" for n in (3, 2, 1, 0)]  # latest update first
        back = re.search(r'href="(/agent/\?[^"]*before=[^"]+)"', pages[-1]).group(1).replace("&amp;", "&")
        previous = re.findall(
            r'<a href="/agent/tickets/\d+">([^<]+)</a>', client.get(back).get_data(as_text=True)
        )
        assert previous == everything[4:8]
    finally:
        app.config["PER_PAGE"] = 25


def test_the_other_sorts_keep_working(client, desk):
    _ticket(desk, "A", "Low")
    _ticket(desk, "B", "Urgent")
    assert _order(client, sort="priority")[0] == ["B", "A"]
    assert _order(client, sort="updated")[0] == ["B", "A"]
    assert _order(client, sort="due")[0] == ["B", "A"]


def test_a_reused_page_statement_never_shows_one_agent_another_s_tickets(client, login, make, ref):
    """Queue statements are built once per shape and reused with each request's values: two
    technicians of different categories, and an admin, asking for the same page in turn."""
    it_tech, sales_tech, admin = (
        make.technician(ref.categories["IT"]),
        make.technician(ref.categories["Sales"]),
        make.admin(),
    )
    make.ticket(subject="IT only", category=ref.categories["IT"], priority=ref.priorities["Normal"])
    make.ticket(subject="Sales only", category=ref.categories["Sales"], priority=ref.priorities["Normal"])
    for sort in ("attention", "due", "priority", "updated"):
        for user, expected in (
            (it_tech, ["IT only"]),
            (sales_tech, ["Sales only"]),
            (admin, ["IT only", "Sales only"]),
        ):
            login(user)
            assert sorted(_order(client, sort=sort)[0]) == expected
        login(admin)
        category = ref.categories["Sales"].id
        assert _order(client, sort=sort, category=category)[0] == ["Sales only"]
        assert _order(client, sort=sort, category=ref.categories["IT"].id)[0] == ["IT only"]


@pytest.mark.parametrize("assignee", ["anyone", "me", "unassigned"])
def test_the_open_tickets_page_is_the_all_statuses_page_without_the_ended_ones(desk, assignee):
    """With the open statuses filtered (the default), the last group's condition is written for
    open tickets only (queue.attention_groups, open_only): the same tickets in the same order as
    "all statuses" shows them, the resolved and closed ones left out."""
    made = [
        _ticket(desk, "Urgent, paid, at risk", "Urgent", minutes_ago=50),
        _ticket(desk, "Normal, unanswered", "Normal", minutes_ago=40),
        _ticket(desk, "High, answered, resolve by", "High", minutes_ago=30),
        _ticket(desk, "Low, answered", "Low", minutes_ago=25),
        _ticket(desk, "High, waiting", "High", minutes_ago=20),
        _ticket(desk, "Low, resolved", "Low", minutes_ago=15),
    ]
    for ticket in made[2:]:
        lifecycle.add_message(ticket, desk.agent, "On it.")
    lifecycle.set_status(made[4], desk.agent, STATUS_WAITING)  # pauses (clears) its resolve-by time
    made[4].resolution_due_at = utcnow() + timedelta(hours=1)  # as a desk's older rows may still have
    lifecycle.set_status(made[5], desk.agent, STATUS_RESOLVED)
    for ticket in made[::2]:  # every other one is the agent's
        ticket.assignee_id = desk.agent.id
    db.session.commit()

    def subjects(status):
        page = queue.queue_page(desk.agent, queue.QueueFilters(status=status, assignee=assignee), 25)
        return [(row.subject, row.status) for row in page.rows]

    every = subjects("all")
    assert subjects("active") == [(s, st) for s, st in every if st != STATUS_RESOLVED]
    for status in ("new", "open", STATUS_WAITING):  # one status asked ("waiting" is its own shape)
        assert subjects(status) == [(s, st) for s, st in every if st == status]
    assert len(every) == {"anyone": 6, "me": 3, "unassigned": 3}[assignee]
