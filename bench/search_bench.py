"""Ticket search benchmark: the queue's first page for `q=<words>`, before (LIKE) and after (full-text).

    .venv/bin/python bench/search_bench.py [--db sqlite|postgres|both] [--tickets N] [--repeat R]
                                           [--sorts due,priority] [--vocabulary N]

Seeds the queue benchmark's data set (bench/dataset.py: 100,000 tickets, 300,000 messages), then,
in-process as the benchmark's technician (two of the three categories), times the SQL of the
queue's first page (default filters: active tickets, 25 rows) for each query, sorted by due time
and by priority (whose query repeats the conditions once per priority). "before" is the
`ILIKE '%q%'` condition the queue used until full-text search (subject, body, or any message),
"after" is services/search.py (one search document per ticket). Milliseconds per query: median
and best of --repeat runs after one warm-up run. On PostgreSQL it also prints EXPLAIN ANALYZE of
the queue's first page for a common and a rare word (which index it walks) and the sizes of
the search indexes and the tickets table. The PostgreSQL database is created for the run and
dropped after; the SQLite file lives in a temp folder.

--vocabulary N appends N made-up words (of 400, Zipf-distributed, none of them a query's prefix)
to every ticket's description after seeding. The data set is written from 13 words and numbers
unique to each ticket, which leaves PostgreSQL fewer than 100 "most common elements" in the
statistics of a tsvector column: with so few it estimates every prefix query (`'word':*`) at a
fixed 2 % of rows, whatever the word. Real text has a larger vocabulary; with one the planner
sees that "printer" is in every ticket.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import statistics  # noqa: E402
import time  # noqa: E402

from bench.dataset import AGENT_EMAIL, backends, bench_database, data_set_parser, seed  # noqa: E402  (after the path is set)

# On the data set of helpdesk/demo/bulk.py (100,000 tickets; counts with internal notes): "the" is
# in nearly every ticket (the worst case), "invoice" in about one in five, "printer" in about 3 %,
# "73" starts the reference numbers of about 0.3 %, "invoice refund" needs both words somewhere in
# a ticket (about 6 %; before: the phrase, which is a different question), "zebra" is in none.
# (Until 2026-12-02 the data set was 13 words and a number per ticket, "printer" in every one.)
QUERIES = ["the", "printer", "invoice", "73", "zebra", "invoice refund"]


def add_vocabulary(url, words_per_ticket):
    """Append `words_per_ticket` made-up words to each ticket's description, then ANALYZE."""
    import random

    from sqlalchemy import create_engine, text

    rng = random.Random(7)
    syllables = [c + v for c in "bdfgklmnst" for v in "aou"]
    vocabulary = sorted({"".join(rng.sample(syllables, 3)) for _ in range(1000)})[:400]
    weights = [1 / rank for rank in range(1, len(vocabulary) + 1)]
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        ids = conn.execute(text("SELECT id FROM tickets")).scalars().all()
        rows = [
            {"id": id_, "extra": " " + " ".join(rng.choices(vocabulary, weights, k=words_per_ticket))}
            for id_ in ids
        ]
        conn.execute(text("UPDATE tickets SET body = body || :extra WHERE id = :id"), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    print(
        f"  added {words_per_ticket} words of vocabulary to each description in {time.perf_counter() - started:.1f} s"
    )


def legacy_condition(q):
    """The queue's `q` condition before full-text search (services/queue.py until migration 0008)."""
    from sqlalchemy import exists, or_

    from helpdesk.querying import escape_like
    from helpdesk.tickets.models import Message, Ticket

    pattern = f"%{escape_like(q)}%"
    return or_(
        Ticket.subject.ilike(pattern, escape="\\"),
        Ticket.body.ilike(pattern, escape="\\"),
        exists().where(Message.ticket_id == Ticket.id, Message.body.ilike(pattern, escape="\\")),
    )


def timed(statement, repeat, params=None):
    """(median ms, best ms) of executing `statement` `repeat` times after one warm-up run."""
    from helpdesk.extensions import db

    db.session.execute(statement, params).all()
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        db.session.execute(statement, params).all()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent), min(spent)


def page_statement(actor, filters, now, extra=None):
    """(statement, parameters) of the queue's first page for `actor` as tickets/queue.py builds it
    (the viewer's values as bind parameters), with `extra` added to its WHERE."""
    from helpdesk.tickets import queue

    shape, params = queue._shape(actor, filters)
    params["now"] = now
    ranks = queue._priority_ranks() if filters.sort == "priority" else ()
    conditions = queue._conditions(shape, filters) + ([extra] if extra is not None else [])
    return queue.BUILDERS[filters.sort](conditions, None, 26, False, ranks), params


def measure(url, repeat, sorts):
    from sqlalchemy import func, select

    from helpdesk import create_app, policy
    from helpdesk.accounts.models import User
    from helpdesk.dbtypes import utcnow
    from helpdesk.extensions import db
    from helpdesk.tickets import queue, search
    from helpdesk.tickets.models import Ticket

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        actor = db.session.scalar(select(User).where(User.email == AGENT_EMAIL))
        now = utcnow()
        print(
            f"  {'sort':<10}{'query':<16}{'matches':>8}{'before p50':>12}{'best':>8}{'after p50':>11}{'best':>8}"
        )
        for sort in sorts:
            for q in QUERIES:
                matching = search.matching_ticket_ids(q, include_internal=True)
                matches = db.session.scalar(
                    select(func.count()).where(policy.ticket_visibility(actor), Ticket.id.in_(matching))
                )
                before, before_params = page_statement(
                    actor, queue.QueueFilters(sort=sort), now, legacy_condition(q)
                )
                after, after_params = page_statement(actor, queue.QueueFilters(q=q, sort=sort), now)
                (b50, bmin), (a50, amin) = (
                    timed(before, repeat, before_params),
                    timed(after, repeat, after_params),
                )
                print(f"  {sort:<10}{q:<16}{matches:>8,}{b50:>12.1f}{bmin:>8.1f}{a50:>11.1f}{amin:>8.1f}")
        if db.engine.dialect.name == "postgresql":
            explain_search(db, actor, now)
        db.session.remove()
        db.engine.dispose()


def explain_search(db, actor, now):
    """EXPLAIN ANALYZE of the queue's first page (due sort) for a common and a rare word, and the
    sizes of the search indexes and of the tickets table (which holds the documents)."""
    from sqlalchemy import text

    from helpdesk.tickets import queue

    for q in ("the", "zebra"):
        statement, params = page_statement(actor, queue.QueueFilters(q=q, sort="due"), now)
        bound = statement.params(params)
        compiled = bound.compile(db.engine, compile_kwargs={"render_postcompile": True})
        state = compiled.construct_expanded_state()
        plan = (
            db.session.connection()
            .exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {state.statement}", state.parameters)
            .scalars()
        )
        print(f"\n  EXPLAIN ANALYZE of the queue's first page, q={q}:")
        print("\n".join("    " + line for line in plan))
    sizes = db.session.execute(
        text(
            "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class "
            "WHERE relname LIKE 'ix_%search%' OR relname = 'tickets' ORDER BY relname"
        )
    ).all()
    print("\n  sizes: " + ", ".join(f"{name} {size}" for name, size in sizes))


def run(backend, args):
    print(f"\n== {backend} ==")
    with bench_database(backend, prefix="helpdesk-search-bench-") as url:
        seed(url, args.tickets, args.messages_per_ticket)
        if args.vocabulary:
            add_vocabulary(url, args.vocabulary)
        measure(url, args.repeat, args.sorts.split(","))


def main():
    parser = data_set_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per query (median and best)")
    parser.add_argument(
        "--vocabulary", type=int, default=0, help="made-up words to add to each description (see above)"
    )
    parser.add_argument("--sorts", default="due,priority", help="queue sorts to time: due, updated, priority")
    args = parser.parse_args()
    for backend in backends(args):
        run(backend, args)


if __name__ == "__main__":
    main()
