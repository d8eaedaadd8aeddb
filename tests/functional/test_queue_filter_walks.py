"""Every status, sort and assignee filter of the queue lists exactly its tickets, in its order, on
both databases; on SQLite each walks the index that starts with its filter (migration 0036).

Before those indexes "my tickets, all statuses, latest first" read all of an agent's tickets and
sorted them, 155 ms of SQL on the 100,000-ticket bench desk, and "waiting, by priority" 80-250 ms
(bench/README.md, "The queue's status and assignee filters"). A walk SQLite may not take (an
INDEXED BY whose condition the WHERE does not imply) is an error there, not a slow page: the
matrix below asks for every combination."""

import itertools
import re
from datetime import timedelta

import pytest

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import OPEN_STATUSES
from tests.plans import sqlite_plan

from .test_agent_queue import subjects
from .test_queue_plans import page_statement

STATUSES = ["", "all", "waiting", "closed"]
SORTS = ["", "due", "due_desc", "updated", "updated_asc", "priority", "priority_asc"]
ASSIGNEES = ["", "me", "unassigned"]
PRIORITY_ORDER = ["Urgent", "High", "Normal", "Low"]


@pytest.fixture
def spread(app, desk, make, monkeypatch):
    """IT tickets of every status, mine, a colleague's and nobody's, of every priority, with
    distinct due and update times."""
    monkeypatch.setitem(app.config, "PER_PAGE", 100)  # one page: all of them
    colleague = make.technician(desk.it)
    now = utcnow()
    tickets = []
    statuses = ["new", "open", "waiting", "resolved", "closed"]
    owners = [desk.tech_it, colleague, None]
    prios = list(desk.ref.priorities.values())
    for n, (status, owner, prio) in enumerate(itertools.product(statuses, owners, prios)):
        ticket = make.ticket(
            subject=f"S{n:02d}", requester=desk.requester, category=desk.it, priority=prio, status=status,
            assignee=owner, created_at=now - timedelta(days=2), due_at=now + timedelta(minutes=(n * 7) % 61),
            updated_at=now - timedelta(minutes=(n * 11) % 67),
        )  # fmt: skip
        tickets.append(ticket)
    db.session.flush()
    return desk, tickets


def queue_url(status, sort, assignee):
    chosen = (("status", status), ("sort", sort), ("assignee", assignee))
    return "/agent/?" + "&".join(f"{name}={value}" for name, value in chosen if value)


def expected(desk, tickets, status, sort, assignee):
    """The subjects the page must list, in order (what the queue promises, computed in Python)."""
    rows = [t for t in tickets if t.category_id == desk.it.id]
    if status == "":
        rows = [t for t in rows if t.status in OPEN_STATUSES]
    elif status != "all":
        rows = [t for t in rows if t.status == status]
    if assignee == "me":
        rows = [t for t in rows if t.assignee_id == desk.tech_it.id]
    elif assignee == "unassigned":
        rows = [t for t in rows if t.assignee_id is None]
    return rows


def check_order(rows, sort):
    natural = sort.removesuffix("_desc").removesuffix("_asc")
    flipped = sort in ("due_desc", "updated_asc", "priority_asc")
    if natural == "due":
        key = [(t.due_at, t.id) for t in rows]
    elif natural == "updated":
        key = [(-t.updated_at.timestamp(), -t.id) for t in rows]
    else:
        key = [(PRIORITY_ORDER.index(t.priority.name), t.due_at, t.id) for t in rows]
    return key == sorted(key, reverse=flipped)


@pytest.mark.parametrize("status", STATUSES)
def test_every_sort_and_assignee_lists_exactly_its_tickets_in_order(client, login, spread, status):
    desk, tickets = spread
    login(desk.tech_it)
    by_subject = {t.subject: t for t in tickets}
    for sort, assignee in itertools.product(SORTS, ASSIGNEES):
        query = queue_url(status, sort, assignee)
        response = client.get(query)
        assert response.status_code == 200, query
        shown = [by_subject[s] for s in subjects(response) if s in by_subject]
        want = expected(desk, tickets, status, sort, assignee)
        assert sorted(t.id for t in shown) == sorted(t.id for t in want), query
        if sort:
            assert check_order(shown, sort), query


WALKS = {  # (status, sort, assignee) -> the index each branch of the page's SELECT walks on SQLite
    ("all", "updated", "me"): {"ix_tickets_assignee_updated"},
    ("all", "due", "unassigned"): {"ix_tickets_assignee_due"},
    ("closed", "updated", ""): {"ix_tickets_status_updated"},
    ("waiting", "priority", ""): {"ix_tickets_status_priority_due"},
    ("waiting", "due", "me"): {"ix_tickets_active_assignee_due"},
    ("", "due", "me"): {"ix_tickets_active_assignee_due"},
    ("", "priority", "me"): {"ix_tickets_active_assignee_priority_due"},
    ("all", "priority", "unassigned"): {"ix_tickets_assignee_priority_due"},
    ("closed", "", "me"): {"ix_tickets_assignee_updated"},  # "Needs attention": only its last group
}


@pytest.mark.parametrize("status, sort, assignee", sorted(WALKS))
def test_sqlite_walks_the_index_that_starts_with_the_filter(client, login, spread, status, sort, assignee):
    desk, _tickets = spread
    login(desk.tech_it)
    statement, parameters = page_statement(client, queue_url(status, sort, assignee))
    if db.engine.dialect.name != "sqlite":
        assert "INDEXED BY" not in statement
        return
    plan = sqlite_plan(statement, parameters)
    walked = {
        m.group(1)
        for step in plan
        if (m := re.match(r"(?:SEARCH|SCAN) tickets USING (?:COVERING )?INDEX (\w+)", step))
    }
    assert walked == WALKS[status, sort, assignee], plan
    if status == "closed" and not sort:
        assert statement.count("INDEXED BY") == 1  # the open tickets' groups are left out
