"""The queue's live refresh under load: ten agents polling by conditional GET while others write.

    .venv/bin/python bench/poll_bench.py [--db sqlite|postgres|both] [--tickets 20000] [--seconds 60]

Seeds the benchmark's desk (bench/dataset.py; 20,000 tickets by default, so it builds in seconds),
adds ten polling technicians and one writing technician (all on IT and Sales), and serves the help
desk with gunicorn (2 sync workers, as bench/queue_bench.py and bench/submit.py do). Then, against
that one server:

1. the scenario, for --seconds: ten agents ask for their queue's table every 10 s as static/live.js
   does (HX-Request, If-None-Match: the ETag of the table they hold; a 304 leaves it, a 200 replaces
   it), while the writer adds an internal note to a random open ticket every second; reported: the
   polls, how many were answered 304, their latency, the notes, and the workers' CPU per second;
2. the cost of each kind of answer, measured by one client with nothing else running, in
   interleaved rounds (the best round of each kind kept): --requests polls answered 304, the same table rendered in full (no If-None-Match), and
   the whole queue page rendered, and the app's emptiest logged-in page (`/account/password`, the
   floor every logged-in request pays: session, user, CSRF, layout); each as the gunicorn workers' CPU time (user + system, from
   /proc, as bench/submit.py measures it) divided by the requests. The goal: a 304 poll costs under
   a fifth of a full render of the table it saves.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlencode, urlsplit  # noqa: E402

from bench.dataset import PASSWORD, backends, data_set_parser, seeded_database  # noqa: E402
from bench.queue_bench import start_gunicorn, stop  # noqa: E402
from bench.submit import worker_cpu_seconds  # noqa: E402

POLLERS = 10
POLL_EVERY = 10.0  # seconds, per agent
NOTE_EVERY = 1.0  # seconds, the writer
QUEUE = "/agent/"


def add_agents(database_url, count):
    """`count` polling technicians and one writer (IT and Sales, the bench password); returns the
    writer's candidate tickets: open ones in IT and Sales."""
    from sqlalchemy import insert, select

    from helpdesk import create_app
    from helpdesk.accounts.auth import hash_password
    from helpdesk.accounts.models import CategoryPermission, User
    from helpdesk.dbtypes import utcnow
    from helpdesk.extensions import db
    from helpdesk.tickets.models import OPEN_STATUSES, Category, Ticket

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        secret, now = hash_password(PASSWORD), utcnow()
        emails = [f"poll{i}@example.com" for i in range(count)] + ["writer@example.com"]
        db.session.execute(
            insert(User),
            [
                {
                    "email": e,
                    "name": e.split("@")[0].title(),
                    "role": "technician",
                    "password_hash": secret,
                    "email_confirmed_at": now,
                }  # fmt: skip
                for e in emails
            ],
        )
        ids = db.session.scalars(select(User.id).where(User.email.in_(emails))).all()
        categories = db.session.scalars(select(Category.id).where(Category.name.in_(["IT", "Sales"]))).all()
        db.session.execute(
            insert(CategoryPermission), [{"user_id": u, "category_id": c} for u in ids for c in categories]
        )
        tickets = db.session.scalars(
            select(Ticket.id).where(Ticket.category_id.in_(categories), Ticket.status.in_(OPEN_STATUSES))
        ).all()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return emails, list(tickets)


class Agent:
    """One browser: a keep-alive connection, its session cookie and CSRF token."""

    def __init__(self, base):
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.cookie, self.token = "", ""

    def request(self, method, path, body=None, headers=None):
        headers = {"Cookie": self.cookie, **(headers or {})} if self.cookie else dict(headers or {})
        if body is not None:
            body = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response, data

    def login(self, email):
        _, html = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1).decode()
        response, _ = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": PASSWORD}
        )
        assert response.status == 302, f"login of {email} answered {response.status}"
        _, html = self.request("GET", QUEUE)
        self.token = re.search(rb'"X-CSRFToken": "([^"]+)"', html).group(1).decode()

    def poll(self, etag=None):
        """The queue's table as live.js asks for it: (status, ETag)."""
        headers = {"HX-Request": "true", **({"If-None-Match": etag} if etag else {})}
        response, data = self.request("GET", QUEUE, headers=headers)
        assert response.status in (200, 304), f"poll answered {response.status}"
        assert response.status == 200 or data == b"", "a 304 with a body"
        return response.status, response.getheader("ETag")

    def note(self, ticket_id, n):
        form = {"reply-body": f"Bench note {n}: checked the logs.", "reply-action": "note"}
        response, _ = self.request(
            "POST",
            f"/agent/tickets/{ticket_id}/reply",
            form,
            {"X-CSRFToken": self.token, "HX-Request": "true"},
        )
        assert response.status == 200, f"note answered {response.status}"


def scenario(base, emails, tickets, seconds, master_pid):
    """Ten agents polling every 10 s, a note a second: what the desk's workers spend on it."""
    pollers = [Agent(base) for _ in range(POLLERS)]
    for agent, email in zip(pollers, emails, strict=False):
        agent.login(email)
    writer = Agent(base)
    writer.login(emails[-1])
    lock, stop_at = threading.Lock(), [0.0]
    polls, notes = [], []  # (status, seconds); seconds
    start = threading.Barrier(POLLERS + 2)

    def poll_loop(agent, offset):
        status, etag = agent.poll()  # the page load: the table the agent holds
        start.wait()
        time.sleep(offset)  # the agents opened their queues at different moments
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            status, new_etag = agent.poll(etag)
            with lock:
                polls.append((status, time.perf_counter() - began))
            etag = new_etag or etag
            pause(began + POLL_EVERY)

    def pause(until):
        time.sleep(max(0.0, min(until, stop_at[0]) - time.perf_counter()))

    def write_loop():
        rng, n = random.Random(7), 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            writer.note(rng.choice(tickets), n)
            notes.append(time.perf_counter() - began)
            n += 1
            pause(began + NOTE_EVERY)

    threads = [
        threading.Thread(target=poll_loop, args=(agent, i * POLL_EVERY / POLLERS))
        for i, agent in enumerate(pollers)
    ]
    threads.append(threading.Thread(target=write_loop))
    stop_at[0] = time.perf_counter() + 3600
    for thread in threads:
        thread.start()
    cpu = worker_cpu_seconds(master_pid)
    stop_at[0] = time.perf_counter() + seconds
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    cpu = worker_cpu_seconds(master_pid) - cpu
    times = sorted(t for _, t in polls)
    return {
        "seconds": round(wall, 1),
        "polls": len(polls),
        "polls_304": sum(1 for status, _ in polls if status == 304),
        "poll_p50_ms": round(statistics.median(times) * 1000, 1) if times else None,
        "poll_max_ms": round(times[-1] * 1000, 1) if times else None,
        "notes": len(notes),
        "note_p50_ms": round(statistics.median(notes) * 1000, 1) if notes else None,
        "worker_cpu_ms_per_s": round(cpu * 1000 / wall, 1),
    }


def cost(master_pid, requests, send):
    """Workers' CPU ms and wall ms per request for `requests` calls of `send`."""
    before = worker_cpu_seconds(master_pid)
    began = time.perf_counter()
    for _ in range(requests):
        send()
    wall = time.perf_counter() - began
    return (worker_cpu_seconds(master_pid) - before) * 1000 / requests, wall * 1000 / requests


def costs(base, email, master_pid, requests, rounds):
    """Each kind of answer, one client and nothing else running: interleaved rounds of `requests`,
    the best round of each kept (other work on a shared machine only ever slows a round down)."""
    agent = Agent(base)
    agent.login(email)
    _, etag = agent.poll()

    def not_modified():
        assert agent.poll(etag)[0] == 304, "the queue changed during the 304 measurement"

    def table():
        assert agent.poll()[0] == 200

    def page():
        response, _ = agent.request("GET", QUEUE)
        assert response.status == 200

    def floor():
        response, _ = agent.request("GET", "/account/password")
        assert response.status == 200

    kinds = {"304 poll": not_modified, "table render": table, "page render": page, "floor": floor}
    for send in kinds.values():
        for _ in range(20):  # warm: statements built, templates compiled in both workers
            send()
    best = {name: (float("inf"), float("inf")) for name in kinds}
    for _ in range(rounds):
        for name, send in kinds.items():
            best[name] = min(best[name], cost(master_pid, requests, send))
    return best


def run(backend, args):
    print(f"\n== {backend} ==")
    with seeded_database(backend, args.tickets, args.messages_per_ticket, prefix="helpdesk-poll-") as (
        url,
        _,
    ):
        emails, tickets = add_agents(url, POLLERS)
        proc, base = start_gunicorn("wsgi:app", url, {"AGENT_SEAT_LIMIT": str(POLLERS + 10)})
        try:
            load = [os.getloadavg()[0]]
            found = scenario(base, emails, tickets, args.seconds, proc.pid)
            load.append(os.getloadavg()[0])
            each = costs(base, emails[0], proc.pid, args.requests, args.rounds)
            load.append(os.getloadavg()[0])
        finally:
            stop(proc)
    print(f"  scenario ({POLLERS} agents polling every {POLL_EVERY:.0f} s, a note every {NOTE_EVERY:.0f} s):")
    print("  " + json.dumps(found))
    print(f"  cost per request, best of {args.rounds} rounds of {args.requests} (workers' CPU ms, wall ms):")
    for name, (cpu_ms, wall_ms) in each.items():
        print(f"    {name:<14}{cpu_ms:>10.3f}{wall_ms:>10.2f}")
    ratio = each["304 poll"][0] / each["table render"][0]
    page_ratio = each["304 poll"][0] / each["page render"][0]
    verdict = "met" if ratio < 0.2 else "NOT met"
    print(f"  304 poll / table render: {ratio:.3f}; / page render: {page_ratio:.3f} (goal < 0.2: {verdict})")
    print(f"  load average (1 min) at the start, after the scenario, after the costs: {load}")
    return ratio


def main():
    parser = data_set_parser(__doc__)
    parser.set_defaults(tickets=20_000)
    parser.add_argument("--seconds", type=float, default=60, help="length of the scenario")
    parser.add_argument("--requests", type=int, default=200, help="requests per round of each kind")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best is kept")
    args = parser.parse_args()
    ratios = [run(backend, args) for backend in backends(args)]
    return 0 if all(r < 0.2 for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
