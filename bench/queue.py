"""Agent queue benchmark: 100,000 tickets and 300,000 messages, gunicorn (2 sync workers), wrk.

    .venv/bin/python bench/queue.py [--db sqlite|postgres|both] [--tickets N] [--duration S]

Seeds each database with bulk inserts, serves the help desk and a bare reference Flask page
(bench/reference_app.py) with gunicorn, logs in through POST /login, and measures with Debian's
`wrk` at 10 connections: queue first page, a filtered page, a deep page (the keyset cursor at
page 200), a ticket page and the reference page; then a single client on the queue page.
The PostgreSQL database is created for the run and dropped after.
"""

import argparse
import http.cookiejar
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1"
AGENT_EMAIL = "bench.tech@example.com"
USER_AGENT = "helpdesk-bench"
WORDS = "printer vpn laptop invoice refund licence outlook wifi password monitor server backup quote".split()


def seed(database_url, tickets, messages_per_ticket):
    """Create the schema and bulk-insert the data set; returns ids the measurements need."""
    from sqlalchemy import insert, select, text

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import (
        Category,
        CategoryPermission,
        Message,
        Organization,
        Priority,
        Ticket,
        TicketTag,
        User,
        utcnow,
    )  # fmt: skip
    from helpdesk.services.accounts import hash_password
    from helpdesk.services.seed import seed_reference_data

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    rng = random.Random(3)
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        seed_reference_data()
        categories = {c.name: c.id for c in db.session.scalars(select(Category))}
        priorities = list(db.session.scalars(select(Priority)))
        secret = hash_password(PASSWORD)
        db.session.execute(insert(Organization), [{"name": f"Org {n}"} for n in range(100)])
        org_ids = list(db.session.scalars(select(Organization.id)))
        staff = [
            {"email": AGENT_EMAIL, "name": "Bench Tech", "role": "technician", "password_hash": secret},
            {
                "email": "bench.admin@example.com",
                "name": "Bench Admin",
                "role": "admin",
                "password_hash": secret,
            },
            {"email": "billing.tech@example.com", "name": "Billing Tech", "role": "technician"},
        ]
        customers = [
            {
                "email": f"customer{n}@example.com",
                "name": f"Customer {n}",
                "role": "customer",
                "organization_id": rng.choice(org_ids + [None]),
            }  # fmt: skip
            for n in range(2000)
        ]
        db.session.execute(insert(User), staff + customers)
        users = dict(db.session.execute(select(User.email, User.id)).all())
        tech, billing = users[AGENT_EMAIL], users["billing.tech@example.com"]
        db.session.execute(
            insert(CategoryPermission),
            [
                {"user_id": tech, "category_id": categories["IT"]},
                {"user_id": tech, "category_id": categories["Sales"]},
                {"user_id": billing, "category_id": categories["Billing"]},
            ],
        )
        customer_rows = db.session.execute(
            select(User.id, User.organization_id).where(User.role == "customer")
        ).all()
        now = utcnow()
        span = timedelta(days=730)
        statuses = ["new", "open", "waiting", "resolved", "closed"]
        weights = [1, 1, 1, 4, 3]
        batch = []
        for n in range(tickets):
            requester = customer_rows[n % len(customer_rows)]
            priority = rng.choice(priorities)
            created = now - span + span * (n / tickets) + timedelta(minutes=rng.randint(0, 600))
            status = rng.choices(statuses, weights)[0]
            category = rng.choice(list(categories.values()))
            batch.append(
                {
                    "subject": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} problem {n}",
                    "body": f"Ticket body {n}: the {rng.choice(WORDS)} does not work since yesterday.",
                    "requester_id": requester.id,
                    "organization_id": requester.organization_id,
                    "category_id": category,
                    "priority_id": priority.id,
                    "status": status,
                    "assignee_id": None
                    if status == "new"
                    else (billing if category == categories["Billing"] else tech),
                    "created_at": created,
                    "updated_at": created + timedelta(hours=rng.randint(1, 72)),
                    "first_response_at": None if status == "new" else created + timedelta(minutes=30),
                    "due_at": created + timedelta(minutes=priority.response_minutes),
                    "version": 1,
                }
            )
            if len(batch) == 10_000:
                db.session.execute(insert(Ticket), batch)
                batch = []
        if batch:
            db.session.execute(insert(Ticket), batch)
        ticket_rows = db.session.execute(select(Ticket.id, Ticket.requester_id, Ticket.created_at)).all()
        batch = []
        for row in ticket_rows:
            for k in range(messages_per_ticket):
                batch.append(
                    {
                        "ticket_id": row.id,
                        "author_id": tech if k % 2 == 0 else row.requester_id,
                        "body": f"Message {k} on ticket {row.id}: have you tried restarting the {WORDS[k % len(WORDS)]}?",
                        "internal": k == 2 and row.id % 5 == 0,
                        "source": "web",
                        "created_at": row.created_at + timedelta(hours=k + 1),
                    }
                )
            if len(batch) >= 30_000:
                db.session.execute(insert(Message), batch)
                batch = []
        if batch:
            db.session.execute(insert(Message), batch)
        db.session.execute(
            insert(TicketTag),
            [{"ticket_id": row.id, "name": rng.choice(WORDS)} for row in ticket_rows[::10]],
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        info = _targets(db, categories, priorities)
        db.session.remove()
        db.engine.dispose()
    print(
        f"  seeded {tickets:,} tickets, {tickets * messages_per_ticket:,} messages in {time.perf_counter() - started:.1f} s"
    )
    return info


def _targets(db, categories, priorities):
    """The URLs to measure, built from the data (the deep page is the keyset cursor of page 200)."""
    from sqlalchemy import func, select

    from helpdesk.models import OPEN_STATUSES, Message, Ticket
    from helpdesk.services.queue import encode_cursor

    visible = Ticket.category_id.in_([categories["IT"], categories["Sales"]])
    open_visible = select(Ticket).where(visible, Ticket.status.in_(OPEN_STATUSES))
    count = db.session.scalar(select(func.count()).select_from(open_visible.subquery()))
    row_4975 = db.session.scalars(  # the last row of page 199 (smaller sets: near the end)
        open_visible.order_by(Ticket.due_at, Ticket.id).offset(max(min(199 * 25, count - 26), 1) - 1).limit(1)
    ).one()
    busiest = db.session.scalar(
        select(Message.ticket_id).join(Ticket).where(visible).order_by(Message.ticket_id.desc()).limit(1)
    )
    high = next(p.id for p in priorities if p.name == "High")
    return {
        "queue first page": "/agent/",
        "queue filtered": f"/agent/?category={categories['IT']}&priority={high}&assignee=me&sort=updated",
        "queue deep (page 200)": "/agent/?"
        + urllib.parse.urlencode({"after": encode_cursor("due", row_4975)}),
        "ticket page": f"/agent/tickets/{busiest}",
        # The app's emptiest logged-in page (a small form): the floor every authenticated page pays.
        "floor: logged-in form": "/account/password",
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app_path, database_url, extra_env=None):
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY="bench-secret-key-not-for-production",
        **(extra_env or {}),
    )
    proc = subprocess.Popen(
        [os.path.join(ROOT, ".venv/bin/gunicorn"), "--no-control-socket", "-w", "2", "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--chdir", ROOT, app_path],  # fmt: skip
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/login" if "wsgi" in app_path else base + "/", timeout=2)
            return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn {app_path} did not start: {proc.stderr.read().decode()[-2000:]}")


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


def login_cookie(base):
    """Log in like a browser (GET the form for its CSRF token, POST it) and return the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]  # the same as wrk's: the session stays "fresh"
    form = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "email": AGENT_EMAIL, "password": PASSWORD}).encode()
    landing = opener.open(base + "/login", data)
    assert landing.url.endswith("/agent/"), f"login failed: landed on {landing.url}"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def check_page(url, cookie, expect):
    request = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request) as response:
        body = response.read().decode()
    assert response.status == 200 and expect in body, f"{url} did not render as expected"


def wrk(url, cookie, connections, duration):
    """Requests/s, p50 and p99 (ms) from wrk; refuses results with errors or non-2xx answers."""
    out = subprocess.run(
        ["wrk", "-t1" if connections == 1 else "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
         "-H", f"Cookie: {cookie}", "-H", f"User-Agent: {USER_AGENT}", url],  # fmt: skip
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors for {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, _ms(out, "50%"), _ms(out, "99%")


def _ms(out, label):
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run(backend, args):
    print(f"\n== {backend} ==")
    workdir = tempfile.mkdtemp(prefix="helpdesk-bench-")
    admin_url = pg_name = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir}/bench.sqlite3"
    else:
        import psycopg

        pg_name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
        admin_url = PG_SERVER
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        url = PG_SERVER.rsplit("/", 1)[0] + "/" + pg_name
    procs = []
    try:
        targets = seed(url, args.tickets, args.messages_per_ticket)
        app_proc, app_base = start_gunicorn("wsgi:app", url)
        procs.append(app_proc)
        ref_proc, ref_base = start_gunicorn("bench.reference_app:app", url)
        procs.append(ref_proc)
        cookie = login_cookie(app_base)
        pages = {name: app_base + path for name, path in targets.items()}
        pages["reference page"] = ref_base + "/"
        for name, url in pages.items():
            check_page(
                url,
                cookie,
                {"ticket page": "Conversation", "floor: logged-in form": "<form"}.get(name, "<table"),
            )
            wrk(url, cookie, 10, 2)  # warm-up
        # Interleaved rounds, best round kept: other work on a shared machine only ever slows a run down.
        rounds = {name: [] for name in pages}
        singles = []
        for _ in range(args.rounds):
            for name, url in pages.items():
                rounds[name].append(wrk(url, cookie, 10, args.duration))
            singles.append(wrk(pages["queue first page"], cookie, 1, args.duration))
        results = {name: max(runs) for name, runs in rounds.items()}
        single = min(singles, key=lambda r: r[1])
        reference = results["reference page"]
        floor = results["floor: logged-in form"]
        print(f"  {'page':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x ref':>8}{'x floor':>9}")
        for name, (rps, p50, p99) in results.items():
            print(
                f"  {name:<24}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}{rps / reference[0]:>8.2f}{rps / floor[0]:>9.2f}"
            )
        print(
            f"  single client, queue first page: {single[0]:.0f} req/s, p50 {single[1]:.1f} ms, p99 {single[2]:.1f} ms"
        )
        return results, single
    finally:
        for proc in procs:
            stop(proc)
        if pg_name:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages-per-ticket", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is reported")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")
    for backend in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        run(backend, args)


if __name__ == "__main__":
    main()
