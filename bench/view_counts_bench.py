"""What the agent console's view counts cost: `tickets.views_builtin.view_counts` in-process.

    .venv/bin/python bench/view_counts_bench.py [--db sqlite|postgres|both] [--calls 200]
                                                [--keep NAME] [--without-index]

On the queue benchmark's data set (bench/dataset.py: 100,000 tickets, 30 % of them active), times
the one aggregate query that counts every built-in view (Needs attention, Mine, Unassigned,
Waiting on customer, At risk) for the benchmark's technician (two of three categories: ~20,000
active tickets) and for an admin (all ~30,000), `--calls` calls per round, best of 3 rounds, in
microseconds per call (wall clock: PostgreSQL's own work included). For scale it times the
queue's first page (`queue.queue_page`) the same way. `--without-index` drops
ix_tickets_active_views first (what the query costs reading the table).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import time  # noqa: E402  (the block above must run first)

from bench.dataset import AGENT_EMAIL, backends, data_set_parser, seeded_database  # noqa: E402

ADMIN_EMAIL = "bench.admin@example.com"


def best_us(call, calls, rounds=3):
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def measure(url, calls, without_index):
    from flask import current_app
    from sqlalchemy import select, text

    from helpdesk import create_app
    from helpdesk.accounts.models import User
    from helpdesk.extensions import db
    from helpdesk.tickets import queue, views_builtin

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        if without_index:
            db.session.execute(text("DROP INDEX IF EXISTS ix_tickets_active_views"))
            db.session.commit()
        rows = []
        for email in (AGENT_EMAIL, ADMIN_EMAIL):
            user = db.session.scalar(select(User).where(User.email == email))
            views = views_builtin.views_for(user)
            counts = views_builtin.view_counts(user, views)
            db.session.commit()

            def counting(user=user, views=views):
                views_builtin.view_counts(user, views)
                db.session.commit()

            def queue_page(user=user):
                queue.queue_page(user, queue.QueueFilters(), current_app.config["PER_PAGE"])
                db.session.commit()

            rows.append((email, counts, best_us(counting, calls), best_us(queue_page, calls)))
        db.session.remove()
        db.engine.dispose()
    return rows


def main():
    parser = data_set_parser(__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--keep", metavar="NAME", help="reuse a kept data set (see bench/dataset.py)")
    parser.add_argument("--without-index", action="store_true")
    args = parser.parse_args()
    for backend in backends(args):
        with seeded_database(backend, args.tickets, args.messages_per_ticket, keep=args.keep) as (url, _t):
            for email, counts, count_us, page_us in measure(url, args.calls, args.without_index):
                print(
                    f"{backend:<9} {email:<26} counts {count_us:>9.0f} us/call   queue page {page_us:>7.0f} us/call"
                )
                print(f"{'':<9} {counts}")


if __name__ == "__main__":
    main()
