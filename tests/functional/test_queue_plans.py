"""The queue's default page walks each "Needs attention" group's index in its order and stops
after a page, whatever SQLite's statistics say. Sampled statistics (ANALYZE with analysis_limit,
as `flask db upgrade` gathers them) once made SQLite read every active ticket of the agent's
categories through the console's count index and sort them: 14 ms of SQL on 100,000 tickets
instead of 0.6 (bench/README.md, "Every request a full render")."""

import re

import pytest
from sqlalchemy import text

from helpdesk.extensions import db
from tests.plans import sqlite_plan, statements_run

# What a sampled ANALYZE wrote on the 100,000-ticket bench desk (bench/request_floor.py).
SAMPLED_STATISTICS = {
    "ix_tickets_active_views": "17719 401 401 401 401 1 1 1 1",
    "ix_tickets_active_unanswered_due": "4200 1 1",
    "ix_tickets_active_resolution_due": "1911 1 1",
    "ix_tickets_active_due": "8930 1 1",
    "ix_tickets_status_updated": "51216 401 1 1",
    "ix_tickets_updated": "102399 1 1",
    "ix_tickets_category_status": "84700 401 401",
}
WALKS = [
    "ix_tickets_active_unanswered_paid_due",  # group 0: paid, unanswered, at risk, by reply-by time
    "ix_tickets_active_unanswered_due",  # group 1: the other unanswered ones
    "ix_tickets_active_resolution_due",  # group 2: by resolve-by time
    "ix_tickets_updated",  # group 3: latest update first
]


def page_statement(client, path):
    """The queue page's SELECT (statement, parameters) as `path` runs it."""
    response, seen = statements_run(client, path, lambda statement: "page.subject" in statement)
    assert response.status_code == 200
    assert len(seen) == 1
    return seen[0]


MINE = [
    "ix_tickets_active_assignee_unanswered_due",  # the agent sought, then by reply-by time
    "ix_tickets_active_assignee_unanswered_due",
    "ix_tickets_active_resolution_due",
    "ix_tickets_active_answered_assignee_updated",  # the agent sought, then latest update first
]
UNASSIGNED = [
    "ix_tickets_active_unanswered_paid_due",  # the paid ones only, whoever they are assigned to
    "ix_tickets_active_assignee_unanswered_due",
    "ix_tickets_active_views",  # a seek into the few answered unassigned tickets
    "ix_tickets_active_answered_assignee_updated",  # nobody sought among the answered ones
]


@pytest.mark.parametrize(
    "path, walks",
    [("/agent/", WALKS), ("/agent/?assignee=me", MINE), ("/agent/?assignee=unassigned", UNASSIGNED)],
)
def test_needs_attention_walks_each_groups_index_whatever_the_statistics(
    client, make, ref, login, path, walks
):
    agent = make.technician(ref.categories["IT"], ref.categories["Sales"])
    login(agent)
    statement, parameters = page_statement(client, path)
    if db.engine.dialect.name != "sqlite":
        assert "INDEXED BY" not in statement  # SQLite's syntax; PostgreSQL's planner weighs the LIMIT
        # The paid test written out, not bound: a generic plan can then use the paid tickets' index.
        assert "paid_credits > 0" in statement
        return
    db.session.commit()
    connection = db.session.connection()
    with_sampled_statistics(connection)
    plan = sqlite_plan(statement, parameters, connection)
    db.session.commit()
    branches = [step for step in plan if step.startswith(("SCAN tickets", "SEARCH tickets"))][:4]
    used = [re.search(r"INDEX (\w+)", step).group(1) for step in branches]
    assert [u for u, w in zip(used, walks, strict=True) if w] == [w for w in walks if w], plan


def test_waiting_on_customer_leaves_out_the_resolve_by_group(client, make, ref, login):
    """Only new and open tickets are in "Needs attention"'s resolve-by group: for "Waiting on
    customer" the page has no such branch (PostgreSQL, seeing the status as a parameter, walked
    every active ticket with a resolve-by time for none; bench/README.md)."""
    agent = make.technician(ref.categories["IT"])
    login(agent)
    waiting, _ = page_statement(client, "/agent/?status=waiting")
    every, _ = page_statement(client, "/agent/?status=open")
    assert "ORDER BY tickets.resolution_due_at" in every
    assert "ORDER BY tickets.resolution_due_at" not in waiting
    assert waiting.count("UNION ALL") == every.count("UNION ALL") - 1


def with_sampled_statistics(connection):
    connection.exec_driver_sql("ANALYZE")
    connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'tickets'")
    for index, stat in SAMPLED_STATISTICS.items():
        connection.execute(
            text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('tickets', :idx, :stat)"),
            {"idx": index, "stat": stat},
        )
    connection.exec_driver_sql("ANALYZE sqlite_schema")  # reload the statistics


@pytest.mark.parametrize("who", ["technician", "admin"])
def test_the_view_counts_read_only_the_active_tickets_index_whatever_the_statistics(
    client, make, ref, login, who
):
    """The sidebar's counts (loaded after every agent page) read the covering index of active
    tickets, never the table: with sampled statistics SQLite chose ix_tickets_category_status and
    looked each active ticket up in the table, 16 ms instead of 5 on the bench desk."""
    agent = make.admin() if who == "admin" else make.technician(ref.categories["IT"], ref.categories["Sales"])
    login(agent)
    page, seen = statements_run(client, "/agent/views", lambda statement: "count(*) FILTER" in statement)
    assert page.status_code == 200 and "Needs attention" in page.get_data(as_text=True)
    [(statement, parameters)] = seen
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL reads the index only by itself (bench/README.md, "View counts")
    db.session.commit()
    connection = db.session.connection()
    with_sampled_statistics(connection)
    plan = sqlite_plan(statement, parameters, connection)
    db.session.commit()
    reads = [step for step in plan if step.startswith(("SCAN tickets", "SEARCH tickets"))]
    assert reads and all("USING COVERING INDEX ix_tickets_active_views" in step for step in reads), plan


@pytest.mark.postgres_only
@pytest.mark.parametrize("filtered", ["tag", "category"])
def test_a_tag_or_category_filter_is_planned_for_its_value(client, make, ref, login, filtered):
    """PostgreSQL plans a queue filtered by a tag or a category for that value: the generic plan
    the other pages use walked every active ticket by due time testing each, to find the few of a
    rare one (110-130 ms on the bench desk against 12-14 planned for it, bench/README.md)."""
    legal = make.CategoryFactory(name="Legal")
    agent = make.technician(ref.categories["IT"], legal)
    login(agent)
    path = "/agent/?tag=nothing-has-this" if filtered == "tag" else f"/agent/?category={legal.id}"
    plain, unfiltered = statements_run(client, "/agent/")
    tagged, filtered = statements_run(client, path)
    assert plain.status_code == tagged.status_code == 200
    assert "No tickets match these filters" in tagged.get_data(as_text=True)
    assert any("force_generic_plan" in statement for statement, _ in unfiltered)
    assert not any("force_generic_plan" in statement for statement, _ in filtered)


def test_a_search_matches_the_words_once_per_page_on_sqlite(client, make, ref, login):
    """ "Needs attention" has four branches, each filtered by the search. On SQLite the FTS5 match
    runs once for the page (a common table expression, materialized because it is used four
    times): run in each branch, a query of several common words took 106 ms instead of 32 on the
    bench desk. PostgreSQL keeps the test in each branch: there the planner may walk a branch's
    sort index and test each row, which a common word needs (bench/README.md)."""
    agent = make.technician(ref.categories["IT"])
    login(agent)
    page, seen = statements_run(client, "/agent/?q=printer+paris", lambda s: "page.subject" in s)
    assert page.status_code == 200 and "No tickets match" in page.get_data(as_text=True)
    [(statement, _)] = seen
    assert statement.count("UNION ALL") == 3
    if db.engine.dialect.name == "sqlite":
        assert statement.count("MATCH") == 1 and statement.startswith("WITH")
    else:
        assert statement.count("@@") == 4
