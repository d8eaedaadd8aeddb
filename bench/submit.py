"""Paid ticket submissions over HTTP under gunicorn: throughput, latency and a ledger check.

Usage: .venv/bin/python bench/submit.py [--db sqlite|postgres|both] [--clients 20] [--seconds 15]

For each database: a fresh one (SQLite file in a temp dir, or a PostgreSQL database created on
--pg-server and dropped after), `flask db upgrade`, one customer and bank per client, gunicorn
with 2 workers (--no-control-socket); then each client (a Python thread with its own http.client
connection, logged in as its own customer) submits Urgent tickets (250 credits) as fast as it can.
Every 10th submission is sent twice with the same submission key (a double click): it must not be
charged twice. At the end: submissions/s, p50 and p99 latency of the paid POSTs, and the ledger
verification (every balance equals its entries; one charge per ticket; no double charge).
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PASSWORD = "bench-password-1"
START_BALANCE = 10_000_000


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SEED_CODE = """
import json, sys
from helpdesk import create_app
from helpdesk.accounts import auth
from helpdesk.accounts.models import CategoryPermission, User
from helpdesk.credits import ledger as credits
from helpdesk.dbtypes import utcnow
from helpdesk.demo.seed import seed_reference_data
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
clients, start_balance, password, reply_mode, tickets_each = json.loads(sys.argv[1])
app = create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1})
with app.app_context():
    categories, priorities = seed_reference_data()
    business = [p for p in credits.all_plans() if p.name == "Business"][0]
    customers = []
    for i in range(clients):
        user = auth.register_customer(f"bench{i}@example.com", f"Bench {i}", password)
        account = credits.open_account(business, user=user)
        credits.post_entry(account.id, start_balance, "adjustment", idempotency_key=f"bench:{i}", memo="bench")
        customers.append(user)
    # The desk's technicians: one for IT (so a new ticket mails its requester and one agent);
    # in reply mode one per client, each answering tickets of its own.
    for i in range(clients if reply_mode else 1):
        tech = User(email=f"bench.tech{i}@example.com", name=f"Tech {i}", role="technician",
                    password_hash=auth.hash_password(password), email_confirmed_at=utcnow())
        db.session.add(tech)
        db.session.flush()
        db.session.add(CategoryPermission(user_id=tech.id, category_id=categories["IT"].id))
    tickets = []
    for i in range(clients if reply_mode else 0):
        tech = db.session.scalar(db.select(User).where(User.email == f"bench.tech{i}@example.com"))
        own = []
        for n in range(tickets_each):
            ticket = lifecycle.create_ticket(customers[i], subject=f"Reply bench {i}-{n}", body="Something broke.",
                                             category_id=categories["IT"].id, priority_id=priorities["Normal"].id)[0]
            lifecycle.add_message(ticket, tech, "First answer.")  # the measured replies are later ones
            own.append(ticket.id)
        tickets.append(own)
    db.session.commit()
    print(json.dumps({"category": categories["IT"].id, "urgent": priorities["Urgent"].id, "tickets": tickets}))
"""


def prepare(env, clients, reply_mode=False, tickets_each=10):
    """Migrate, seed reference data, one customer with a Business bank per client and the
    technicians; in reply mode `tickets_each` open tickets per client, answered once by its agent."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    settings = json.dumps([clients, START_BALANCE, PASSWORD, reply_mode, tickets_each])
    out = subprocess.run(
        [sys.executable, "-c", SEED_CODE, settings],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


class Client:
    """One customer's browser: a keep-alive connection and the session cookie."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.keep_cookie = False  # after login the session cookie is fixed (see follow_redirects)

    def request(self, method, path, form=None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session=") and not self.keep_cookie:
                self.cookie = value.split(";", 1)[0]
        return response.status, response.getheader("Location"), data.decode("utf-8", "replace")

    def csrf(self, path):
        status, _, html = self.request("GET", path)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
            r'name="csrf_token" value="([^"]+)"', html
        )
        if status != 200 or not match:
            raise RuntimeError(f"no CSRF token on {path} ({status})")
        return match.group(1)

    def login(self, email, form_page="/portal/tickets/new"):
        token = self.csrf("/login")
        status, location, _ = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": PASSWORD}
        )
        if status != 302:
            raise RuntimeError(f"login failed for {email}: {status}")
        return self.csrf(form_page)


def worker_cpu_seconds(master_pid):
    """User + system CPU time of the gunicorn master's worker processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as f:
            children = [int(pid) for pid in f.read().split()]
    except OSError:
        return None
    for pid in children:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            continue
    return total / ticks


def submission_form(i, n, token, seeded):
    """A paid submission: an Urgent ticket (250 credits) with a fresh submission key."""
    form = {
        "csrf_token": token,
        "category": seeded["category"],
        "priority": seeded["urgent"],
        "subject": f"Bench {i}-{n}",
        "body": "Paid submission from the benchmark.",
        "submission_key": secrets.token_urlsafe(24),
    }
    return "/portal/tickets/new", form, "/portal/tickets/"


def reply_form(i, n, token, seeded):
    """An agent's public reply to the next of its own tickets, with a fresh resend key."""
    tickets = seeded["tickets"][i]
    form = {
        "reply-csrf_token": token,
        "reply-body": f"Reply {n} from the benchmark: have you tried turning it off and on again?",
        "reply-action": "reply",
        "reply-submission_key": secrets.token_urlsafe(24),
    }
    return f"/agent/tickets/{tickets[n % len(tickets)]}/reply", form, "/agent/tickets/"


def run_clients(port, args, seeded, on_start):
    """Every client logs in, then all POST as fast as they can for `args.seconds`; `on_start` is
    called once all are logged in, just before they start (the CPU count starts there)."""
    latencies, errors, sent = [], [], {"paid": 0, "double_clicks": 0}
    lock = threading.Lock()
    logged_in = threading.Barrier(args.clients + 1)
    go = threading.Barrier(args.clients + 1)
    stop_at = [0.0]
    make_form = reply_form if args.reply else submission_form

    def work(i):
        client = Client(port)
        if args.reply:
            token = client.login(f"bench.tech{i}@example.com", f"/agent/tickets/{seeded['tickets'][i][0]}")
        else:
            token = client.login(f"bench{i}@example.com")
        # Without following redirects, the cookie stays the login one: the "submitted" flash
        # messages (shown by the ticket page) must not pile up in it.
        client.keep_cookie = not args.follow
        logged_in.wait()
        go.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            path, form, success = make_form(i, n, token, seeded)
            began = time.perf_counter()
            status, location, _ = client.request("POST", path, form)
            elapsed = time.perf_counter() - began
            if args.follow and status == 302:
                client.request("GET", location.replace(f"http://127.0.0.1:{port}", ""))
            if n % 10 == 0:  # a double click: the same form again
                client.request("POST", path, form)
                with lock:
                    sent["double_clicks"] += 1
            with lock:
                if status == 302 and success in (location or ""):
                    latencies.append(elapsed)
                    sent["paid"] += 1
                else:
                    errors.append(status)
            n += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 3600
    logged_in.wait()
    on_start()
    stop_at[0] = time.perf_counter() + args.seconds
    go.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return latencies, errors, sent, wall


VERIFY_CODE = """
import json
from sqlalchemy import func, select
from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.credits.ledger import ledger_mismatches, running_balance_mismatches
from helpdesk.credits.models import LedgerEntry
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets.models import Message, Ticket
app = create_app()
with app.app_context():
    count = lambda q: db.session.scalar(select(func.count()).select_from(q.subquery()))
    tickets = db.session.scalar(select(func.count(Ticket.id)))
    charges = db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "charge"))
    per_ticket = db.session.execute(select(LedgerEntry.ticket_id, func.count()).where(LedgerEntry.kind == "charge")
        .group_by(LedgerEntry.ticket_id).having(func.count() > 1)).all()
    replies = db.session.scalar(select(func.count(Message.id)))
    twice = count(select(Message.submission_key).where(Message.submission_key.isnot(None))
        .group_by(Message.author_id, Message.submission_key).having(func.count() > 1))
    mails = dict(db.session.execute(select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)).all())
    print(json.dumps({"tickets": tickets, "charges": charges, "double_charged": len(per_ticket),
                      "mismatches": len(ledger_mismatches()) + len(running_balance_mismatches()),
                      "messages": replies, "double_posted": twice, "mails": mails}))
"""


def verify(env):
    """Ledger, message and outbox counts, read by a separate process: returns a dict."""
    out = subprocess.run(
        [sys.executable, "-c", VERIFY_CODE], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def checks_pass(result, args, seeded):
    """Submissions: one charge per ticket, none twice, balances equal their entries, two mails per
    ticket (the requester's and the agent's). Replies: one message and one mail per reply."""
    if result["mismatches"] or result["double_charged"] or result["double_posted"]:
        return False
    mails = result["mails"]
    if args.reply:
        seeded_tickets = sum(len(t) for t in seeded["tickets"])
        return (
            result["messages"] == result["replies"] + seeded_tickets
            and mails.get("public_reply", 0) == result["replies"] + seeded_tickets
            and result["tickets"] == seeded_tickets
            and result["charges"] == 0
        )
    return result["charges"] == result["tickets"] and mails.get("ticket_created", 0) == 2 * result["tickets"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def bench_one(label, database_url, args):
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY="bench-" + uuid.uuid4().hex,
        FLASK_APP="wsgi",
        NO_PROXY="127.0.0.1,localhost",
        AGENT_SEAT_LIMIT=str(args.clients + 5),
    )
    seeded = prepare(env, args.clients, reply_mode=args.reply)
    port = free_port()
    server = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "--workers",
            "2",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *args.gunicorn_args.split(),
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    start = {}

    def on_start():
        start["cpu"] = worker_cpu_seconds(server.pid)
        start["load"] = os.getloadavg()[0]

    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        latencies, errors, sent, wall = run_clients(port, args, seeded, on_start)
        cpu_after = worker_cpu_seconds(server.pid)
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
    checked = verify(env)
    unit = "reply" if args.reply else "submission"
    done = sent["paid"]
    result = {
        "database": label,
        "mode": unit,
        "clients": args.clients,
        "follow_redirects": args.follow,
        "gunicorn_args": args.gunicorn_args,
        "seconds": round(wall, 1),
        ("replies" if args.reply else "paid_submissions"): done,
        "double_clicks": sent["double_clicks"],
        "errors": len(errors),
        ("replies_per_s" if args.reply else "submissions_per_s"): round(done / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        # Load-independent cost: CPU time the gunicorn workers spent per paid submission (or
        # reply), from the moment every client was logged in (includes the double clicks and,
        # with --follow, the page after the redirect).
        f"worker_cpu_ms_per_{unit}": (
            round((cpu_after - start["cpu"]) * 1000 / done, 2)
            if start.get("cpu") is not None and cpu_after is not None and done
            else None
        ),
        "load_average": [round(start["load"], 2), round(load_after, 2)],
        **checked,
    }
    result["checks_ok"] = checks_pass(result, args, seeded)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--follow", action="store_true", help="also GET the ticket page after each submission, like a browser"
    )
    parser.add_argument(
        "--reply",
        action="store_true",
        help="agents' public replies (one agent per client) instead of submissions",
    )
    parser.add_argument("--gunicorn-args", default="", help="extra gunicorn options, e.g. '--threads 4'")
    args = parser.parse_args()
    results = []
    if args.db in ("sqlite", "both"):
        folder = tempfile.mkdtemp(prefix="bench-submit-")
        try:
            results.append(bench_one("sqlite", f"sqlite:///{folder}/bench.sqlite3", args))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.db in ("postgres", "both"):
        import psycopg

        name = f"helpdesk_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(args.pg_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            results.append(bench_one("postgresql", args.pg_server.rsplit("/", 1)[0] + "/" + name, args))
        finally:
            with psycopg.connect(args.pg_server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for r in results:
        print(json.dumps(r))
    return 0 if all(r["checks_ok"] and not r["errors"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
