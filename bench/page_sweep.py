"""Every page a signed-in agent or admin can open, timed on the large bench desk: the slow ones
the targeted benchmarks do not look at.

    .venv/bin/python bench/page_sweep.py [--db sqlite|postgres|both] [--keep NAME] [--repeat 4]

Seeds (or, with --keep, reuses) the 100,000-ticket desk of bench/dataset.py, then, in-process
through Flask's test client (each request its own app context, as in production), signs in as the
bench technician and the bench admin and GETs every route of the app that takes no argument, plus
the queue with each of its filters and sorts and a ticket page. Each page is requested --repeat
times; the first is left out (a process's first render compiles its templates) and the median of
the rest is printed, slowest first, with the status, the size and the number of SQL statements.

What it found on 2026-12-05 (bench/README.md): the sidebar's view counts, the queue filtered by a
rare tag or a small category on PostgreSQL, the report, the categories page. Run it after a
change to the schema or to a page's queries, on both databases.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import statistics  # noqa: E402
import time  # noqa: E402

from bench.dataset import AGENT_EMAIL, PASSWORD, data_set_parser, seeded_desks  # noqa: E402

ADMIN_EMAIL = "bench.admin@example.com"
# Routes that do something on GET or are not pages to time.
SKIPPED = {"/logout", "/healthz", "/favicon.ico", "/branding.css", "/billing/checkout/return"}
SKIPPED_PREFIXES = ("/api/", "/static")


def pages(app, targets):
    """Every GET route without an argument, the queue's filters and sorts, a ticket page."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule in SKIPPED:
            continue
        if rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        found.append(rule.rule)
    queue = [
        "/agent/?sort=due",
        "/agent/?sort=priority",
        "/agent/?sort=updated",
        "/agent/?status=waiting",
        "/agent/?status=resolved",
        "/agent/?status=closed",
        "/agent/?status=all&sort=updated",
        "/agent/?assignee=me",
        "/agent/?assignee=unassigned",
        "/agent/?overdue=1",
        "/agent/?at_risk=1",
        "/agent/?tag=vpn",
        "/agent/?tag=no-ticket-has-this-tag",
        "/agent/?q=printer",
        "/agent/?q=no-ticket-has-this-word",
        "/agent/?page=2000",
    ]
    return sorted(set(found)) + queue + [targets["ticket page"]]


def timed(client, path, repeat, statements):
    spent, response = [], None
    for _ in range(repeat):
        statements.clear()
        started = time.perf_counter()
        response = client.get(path)
        body = response.get_data()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent[1:] or spent), response.status_code, len(body), len(statements)


def sweep(url, targets, repeat):
    from sqlalchemy import event

    from helpdesk import create_app
    from helpdesk.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    statements = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(1))
    rows = []
    for email in (AGENT_EMAIL, ADMIN_EMAIL):
        client = app.test_client()
        signed_in = client.post("/login", data={"email": email, "password": PASSWORD})
        if signed_in.status_code != 302:
            raise SystemExit(f"{email} could not sign in: {signed_in.status_code}")
        for path in pages(app, targets):
            ms, status, size, count = timed(client, path, repeat, statements)
            rows.append((ms, status, size, count, email.split("@")[0], path))
    rows.sort(reverse=True)
    print(f"  {'ms':>8}  status {'bytes':>8} {'SQL':>4}  {'who':<12} page")
    for ms, status, size, count, who, path in rows:
        print(f"  {ms:8.1f}  {status:>6} {size:>8,} {count:>4}  {who:<12} {path}")
    with app.app_context():
        db.engine.dispose()


def main():
    parser = data_set_parser(__doc__)
    parser.add_argument("--keep", metavar="NAME", help="seed a database of this name once and reuse it")
    parser.add_argument("--repeat", type=int, default=4, help="requests per page (the first is left out)")
    args = parser.parse_args()
    for backend, url, targets in seeded_desks(args):
        print(f"\n== {backend} ==")
        sweep(url, targets, args.repeat)


if __name__ == "__main__":
    main()
