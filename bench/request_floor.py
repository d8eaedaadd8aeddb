"""Where a logged-in page's CPU goes: a ladder of in-process requests against the reference page.

    .venv/bin/python bench/request_floor.py [--tickets 100000] [--requests 300]

The queue benchmark (bench/queue_bench.py) compares pages over HTTP with a bare Flask page that
renders one 25-row template. This script explains its ratios: it measures the CPU time per request
(`time.process_time`, best of 7 interleaved rounds of 200 requests through Flask's test client,
so the same client overhead is in every row) for

- the reference page itself (bench/reference_app.py, its own Flask app);
- steps added to the help desk app for this run only: a plain view (the app's hooks, no login),
  a view that loads the logged-in user (session cookie + user loader), the same plus a CSRF token,
  and the base layout around an empty body (navigation, banners);
- the help desk's real pages: the password form, the queue's first page and a ticket page, each
  request a full render (the test client sends no If-None-Match), and the page of the agent's
  views with their counts (what the sidebar loads after every agent page, there as a fragment).

It seeds a SQLite file in a temp folder with bench/dataset.py (100,000 tickets, ~1 min): SQLite
runs in-process, so the database's own work is counted in every row, the reference's included.
With `--db postgres` the database is a PostgreSQL one (BENCH_PG_SERVER): its server's CPU is not
counted, only the client side of each query.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402  (the block above must run first)
import time  # noqa: E402

from bench.dataset import AGENT_EMAIL, PASSWORD, seeded_database  # noqa: E402

SECRET = "bench-secret-key-not-for-production"


def cpu_ms(client, path, requests):
    """CPU milliseconds per request over one batch."""
    start = time.process_time()
    for _ in range(requests):
        client.get(path)
    return (time.process_time() - start) / requests * 1000


def interleaved_best(steps, requests, rounds):
    """Every step once per round, the best round of each kept: a busy moment on a shared VM
    slows one batch, not one step's every batch."""
    for _label, client, path in steps:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    best = {label: float("inf") for label, _client, _path in steps}
    for _ in range(rounds):
        for label, client, path in steps:
            best[label] = min(best[label], cpu_ms(client, path, requests))
    return best


def logged_in(app):
    """A test client logged in as the benchmark's technician through the login form."""
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"email": AGENT_EMAIL, "password": PASSWORD, "csrf_token": token})
    if answer.status_code not in (302, 303):
        raise SystemExit(f"login failed: {answer.status_code}")
    return client


def help_desk_steps(app):
    """Views that stop after each step a logged-in page takes (registered on this app only)."""
    from flask import render_template
    from flask_login import current_user, login_required
    from flask_wtf.csrf import generate_csrf

    empty_page = app.jinja_env.from_string('{% extends "base.html" %}{% block content %}{% endblock %}')
    app.add_url_rule("/_floor/plain", "floor_plain", lambda: "ok")
    app.add_url_rule("/_floor/user", "floor_user", login_required(lambda: str(current_user.id)))
    app.add_url_rule(
        "/_floor/csrf", "floor_csrf", login_required(lambda: str(current_user.id) + generate_csrf())
    )
    app.add_url_rule("/_floor/layout", "floor_layout", login_required(lambda: render_template(empty_page)))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per timed batch")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the best is kept")
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="seed a database of this name once and reuse it in later runs (see bench/dataset.py)",
    )
    args = parser.parse_args()

    with seeded_database(args.db, args.tickets, 3, keep=args.keep, prefix="helpdesk-floor-") as (
        url,
        targets,
    ):
        os.environ["DATABASE_URL"] = url
        from bench.reference_app import app as reference_app
        from helpdesk import create_app

        app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET})
        help_desk_steps(app)
        client = logged_in(app)
        ticket_path = targets["ticket page"]

        steps = [("reference page (bare Flask, 25 rows)", reference_app.test_client(), "/")]
        for label, path in [
            ("help desk: plain view, no login", "/_floor/plain"),
            ("  + logged-in user (session, loader)", "/_floor/user"),
            ("  + CSRF token", "/_floor/csrf"),
            ("  + base layout, empty body", "/_floor/layout"),
            ("password form (/account/password)", "/account/password"),
            ("queue first page (/agent/)", "/agent/"),
            (f"ticket page ({ticket_path})", ticket_path),
            ("view counts (/agent/views)", "/agent/views"),
        ]:
            steps.append((label, client, path))
        best = interleaved_best(steps, args.requests, args.rounds)
        reference = best[steps[0][0]]
        rows = list(best.items())
        print(f"\n{'request':<44}{'CPU ms':>8}{'x ref':>8}")
        for label, ms in rows:
            print(f"{label:<44}{ms:>8.2f}{reference / ms:>8.2f}")
        print(
            f"\nA page reaches 0.5x the reference at {2 * reference:.2f} ms of CPU and 0.4x at "
            f"{2.5 * reference:.2f} ms (in-process; gunicorn's and wrk's share is added to both on the wire)."
        )


if __name__ == "__main__":
    main()
