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


def prepare(env, clients):
    """Migrate, seed reference data and create one customer with a Business bank per client."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    code = f"""
from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.services import accounts, credits
from helpdesk.services.seed import seed_reference_data
app = create_app({{"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1}})
with app.app_context():
    categories, priorities = seed_reference_data()
    business = [p for p in credits.all_plans() if p.name == "Business"][0]
    for i in range({clients}):
        user = accounts.register_customer(f"bench{{i}}@example.com", f"Bench {{i}}", {PASSWORD!r})
        account = credits.open_account(business, user=user)
        credits.post_entry(account.id, {START_BALANCE}, "adjustment", idempotency_key=f"bench:{{i}}", memo="bench")
    db.session.commit()
    print(categories["IT"].id, priorities["Urgent"].id)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    category_id, urgent_id = out.stdout.split()
    return int(category_id), int(urgent_id)


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

    def login(self, email):
        token = self.csrf("/login")
        status, location, _ = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": PASSWORD}
        )
        if status != 302:
            raise RuntimeError(f"login failed for {email}: {status}")
        return self.csrf("/portal/tickets/new")


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


def run_clients(port, clients, seconds, category_id, urgent_id, follow):
    latencies, errors, sent = [], [], {"paid": 0, "double_clicks": 0}
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def work(i):
        client = Client(port)
        token = client.login(f"bench{i}@example.com")
        # Without following redirects, the cookie stays the login one: the "submitted" flash
        # messages (shown by the ticket page) must not pile up in it.
        client.keep_cookie = not follow
        ready.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            key = secrets.token_urlsafe(24)
            form = {
                "csrf_token": token,
                "category": category_id,
                "priority": urgent_id,
                "subject": f"Bench {i}-{n}",
                "body": "Paid submission from the benchmark.",
                "submission_key": key,
            }
            began = time.perf_counter()
            status, location, _ = client.request("POST", "/portal/tickets/new", form)
            elapsed = time.perf_counter() - began
            if follow and status == 302:
                client.request("GET", location.replace(f"http://127.0.0.1:{port}", ""))
            if n % 10 == 0:  # a double click: the same submission again
                client.request("POST", "/portal/tickets/new", form)
                with lock:
                    sent["double_clicks"] += 1
            with lock:
                if status == 302 and "/portal/tickets/" in (location or ""):
                    latencies.append(elapsed)
                    sent["paid"] += 1
                else:
                    errors.append(status)
            n += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 3600
    ready.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return latencies, errors, sent, wall


def verify(env):
    """Ledger verification in a separate process: returns a dict of counts."""
    code = """
import json
from sqlalchemy import func, select
from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.models import LedgerEntry, Ticket
from helpdesk.services.credits import ledger_mismatches, running_balance_mismatches
app = create_app()
with app.app_context():
    tickets = db.session.scalar(select(func.count(Ticket.id)))
    charges = db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "charge"))
    per_ticket = db.session.execute(select(LedgerEntry.ticket_id, func.count()).where(LedgerEntry.kind == "charge")
        .group_by(LedgerEntry.ticket_id).having(func.count() > 1)).all()
    print(json.dumps({"tickets": tickets, "charges": charges, "double_charged": len(per_ticket),
                      "mismatches": len(ledger_mismatches()) + len(running_balance_mismatches())}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


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
    )
    category_id, urgent_id = prepare(env, args.clients)
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
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        cpu_before = worker_cpu_seconds(server.pid)
        load_before = os.getloadavg()[0]
        latencies, errors, sent, wall = run_clients(
            port, args.clients, args.seconds, category_id, urgent_id, args.follow
        )
        cpu_after = worker_cpu_seconds(server.pid)
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
    ledger = verify(env)
    result = {
        "database": label,
        "clients": args.clients,
        "follow_redirects": args.follow,
        "gunicorn_args": args.gunicorn_args,
        "seconds": round(wall, 1),
        "paid_submissions": sent["paid"],
        "double_clicks": sent["double_clicks"],
        "errors": len(errors),
        "submissions_per_s": round(sent["paid"] / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        # Load-independent cost: CPU time the gunicorn workers spent per paid submission
        # (includes the login-free double clicks and, with --follow, the ticket page).
        "worker_cpu_ms_per_submission": (
            round((cpu_after - cpu_before) * 1000 / sent["paid"], 2)
            if cpu_before is not None and cpu_after is not None and sent["paid"]
            else None
        ),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        **ledger,
    }
    result["ledger_ok"] = (
        ledger["mismatches"] == 0 and ledger["double_charged"] == 0 and ledger["charges"] == ledger["tickets"]
    )
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
    return 0 if all(r["ledger_ok"] and not r["errors"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
