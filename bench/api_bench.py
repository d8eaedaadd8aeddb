"""REST API benchmark: the ticket list and a ticket read through /api/v1 at 100,000 tickets.

    .venv/bin/python bench/api_bench.py [--db sqlite|postgres|both] [--tickets N] [--requests 300]

Seeds each database with bench/dataset.py (the queue benchmark's data set), makes a personal
access token for its technician (IT and Sales), and times in-process requests through Flask's
test client (wall time, so the database's work is in it; PostgreSQL's server too): the list's
first page ("Needs attention" and by due time, 25 rows), a deep page (the `next` link followed
20 times), a filtered page, and a ticket read. Each request pays the token's lookup, its
rate-limit count (one upsert and one commit: the per-token limit is counted in the database) and
the JSON. Prints p50 and p95 in milliseconds.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import statistics  # noqa: E402  (the block above must run first)
import time  # noqa: E402

from bench.dataset import AGENT_EMAIL, data_set_parser, seeded_desks  # noqa: E402


def measure(client, path, headers, requests):
    """(p50, p95) wall milliseconds per request."""
    first = client.get(path, headers=headers)
    if first.status_code != 200:
        raise SystemExit(f"{path} answered {first.status_code}: {first.get_data(as_text=True)[:300]}")
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def run(database_url, requests):
    from sqlalchemy import select

    from helpdesk import create_app
    from helpdesk.accounts.models import User
    from helpdesk.api import tokens
    from helpdesk.extensions import db
    from helpdesk.tickets.models import Ticket

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "API_RATE_LIMIT": 10**9})
    with app.app_context():
        agent = db.session.scalar(select(User).where(User.email == AGENT_EMAIL))
        _token, secret = tokens.create_token(agent, name="bench", scopes=tokens.SCOPES, days=7)
        busiest = db.session.scalar(
            select(Ticket.id)
            .where(Ticket.category_id.in_(tokens_categories(agent)))
            .order_by(Ticket.id.desc())
        )
        db.session.commit()
        db.session.remove()
    headers = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    deep = "/api/v1/tickets"
    for _ in range(20):  # small data sets: the last page
        deep = client.get(deep, headers=headers).get_json()["next"] or deep
    targets = {
        "list, first page (Needs attention)": "/api/v1/tickets",
        "list, first page by due time": "/api/v1/tickets?sort=due",
        "list, page 21 (cursor)": deep,
        "list, filtered (status=all, updated)": "/api/v1/tickets?status=all&sort=updated&assignee=unassigned",
        "ticket read": f"/api/v1/tickets/{busiest}",
    }
    with app.app_context():
        for label, path in targets.items():
            p50, p95 = measure(client, path, headers, requests)
            print(f"  {label:40} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
        db.session.remove()
        db.engine.dispose()


def tokens_categories(agent):
    from helpdesk import policy

    return policy.permitted_category_ids(agent)


def main():
    parser = data_set_parser(__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", help="reuse (or make) a kept database of this name")
    args = parser.parse_args()
    for backend, url, _targets in seeded_desks(args):
        print(f"{backend}: {args.tickets:,} tickets")
        run(url, args.requests)


if __name__ == "__main__":
    main()
