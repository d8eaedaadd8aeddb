"""The benchmark's data set: 100,000 tickets, 300,000 messages, bulk-inserted by the large demo
desk's code (helpdesk/demo/bulk.py); and the URLs to measure."""

import contextlib
import os
import random
import shutil
import tempfile
import time
import urllib.parse
import uuid

PASSWORD = "bench-password-1"
AGENT_EMAIL = "bench.tech@example.com"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")


def data_set_parser(description):
    """The options every data-set benchmark takes: which databases, how many tickets and messages."""
    import argparse

    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages-per-ticket", type=int, default=3)
    return parser


def backends(args):
    """The databases the options ask for, SQLite first."""
    return ["sqlite", "postgres"] if args.db == "both" else [args.db]


def seeded_desks(args):
    """(backend, database URL, URLs to measure) of each database the options ask for, seeded for
    the run (or kept: `args.keep`, see seeded_database); each is removed when the loop moves on."""
    for backend in backends(args):
        keep = getattr(args, "keep", None)
        with seeded_database(backend, args.tickets, args.messages_per_ticket, keep=keep) as (url, targets):
            yield backend, url, targets


@contextlib.contextmanager
def bench_database(backend, prefix="helpdesk-bench-"):
    """An empty database for one run: a SQLite file in a temp folder, or a PostgreSQL database
    created on BENCH_PG_SERVER; either is removed afterwards (PostgreSQL: `WITH (FORCE)`)."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    pg_name = None
    try:
        if backend == "sqlite":
            yield f"sqlite:///{workdir}/bench.sqlite3"
        else:
            import psycopg

            pg_name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{pg_name}"')
            yield PG_SERVER.rsplit("/", 1)[0] + "/" + pg_name
    finally:
        if pg_name:
            import psycopg

            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def seeded_database(backend, tickets, messages_per_ticket, keep=None, prefix="helpdesk-bench-"):
    """(database URL, URLs to measure) of a seeded database for one run, removed afterwards; or,
    with `keep` (a name), one that outlives the run: seeded the first time, reused as it is by
    later runs with the same name (drop it after a schema change: a SQLite file in the temp
    folder, `helpdesk-bench-keep-<name>.sqlite3`, or the PostgreSQL database
    `helpdesk_bench_keep_<name>`)."""
    if keep is None:
        with bench_database(backend, prefix) as url:
            yield url, seed(url, tickets, messages_per_ticket)
        return
    if backend == "sqlite":
        path = os.path.join(tempfile.gettempdir(), f"helpdesk-bench-keep-{keep}.sqlite3")
        url, fresh = f"sqlite:///{path}", not os.path.exists(path)
    else:
        import psycopg

        name = f"helpdesk_bench_keep_{keep}"
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            fresh = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
            if fresh:
                conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
    yield url, seed(url, tickets, messages_per_ticket) if fresh else targets_of(url)


def targets_of(database_url):
    """The URLs to measure in an already seeded database."""
    from sqlalchemy import select

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.tickets.models import Category, Priority

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        categories = {c.name: c.id for c in db.session.scalars(select(Category))}
        info = _targets(db, categories, list(db.session.scalars(select(Priority))))
        db.session.remove()
        db.engine.dispose()
    return info


RESOLUTION_TARGETS = {"High": 16 * 60, "Urgent": 8 * 60}


def seed(database_url, tickets, messages_per_ticket):
    """Create the schema and bulk-insert the data set; returns ids the measurements need.

    The tickets, customers and organizations are the large demo desk's (helpdesk/demo/bulk.py,
    what `flask seed-demo --tickets N` adds), on a desk of the reference data and three agents:
    the benchmark's technician (IT and Sales), an admin, and a Billing technician."""
    from sqlalchemy import insert, select, text

    from helpdesk import create_app
    from helpdesk.accounts.auth import hash_password
    from helpdesk.accounts.models import CategoryPermission, User
    from helpdesk.dbtypes import utcnow
    from helpdesk.demo import bulk
    from helpdesk.demo.seed import seed_reference_data
    from helpdesk.extensions import db
    from helpdesk.tickets.models import Category, Priority

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    rng = random.Random(3)
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        seed_reference_data()
        categories = {c.name: c.id for c in db.session.scalars(select(Category))}
        priorities = list(db.session.scalars(select(Priority)))
        for priority in priorities:  # resolution targets on the paid priorities, as a desk would set
            priority.resolution_minutes = RESOLUTION_TARGETS.get(priority.name)
        secret = hash_password(PASSWORD)
        confirmed = utcnow()  # bulk inserts skip User.__init__, which confirms new addresses
        staff = [
            {"email": AGENT_EMAIL, "name": "Bench Tech", "role": "technician", "password_hash": secret},
            {
                "email": "bench.admin@example.com",
                "name": "Bench Admin",
                "role": "admin",
                "password_hash": secret,
            },
            {
                "email": "billing.tech@example.com",
                "name": "Billing Tech",
                "role": "technician",
                "password_hash": None,
            },
        ]
        for person in staff:
            person["email_confirmed_at"] = confirmed
        db.session.execute(insert(User), staff)
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
        customers = bulk.add_customers(2000, 100, rng=rng, password_hash=None)
        made = bulk.add_tickets(
            tickets, customers, rng=rng, days=730, messages_per_ticket=messages_per_ticket
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
        f"  seeded {tickets:,} tickets, {made['messages']:,} messages, {made['notes']:,} notes "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return info


def _targets(db, categories, priorities):
    """The URLs to measure, built from the data (the deep page is the keyset cursor of page 200)."""
    from sqlalchemy import func, select

    from helpdesk.accounts.models import User
    from helpdesk.tickets.models import OPEN_STATUSES, Message, Ticket
    from helpdesk.tickets.queue import QueueFilters, encode_cursor, queue_page

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
    agent = db.session.scalar(select(User).where(User.email == AGENT_EMAIL))
    attention_4975 = queue_page(agent, QueueFilters(), 199 * 25).rows[-1]  # "Needs attention", page 199
    return {
        "queue first page": "/agent/",  # the default view, "Needs attention"
        "queue first page, by due time": "/agent/?sort=due",  # the default before it
        "queue filtered": f"/agent/?category={categories['IT']}&priority={high}&assignee=me&sort=updated",
        "queue deep (page 200)": "/agent/?"
        + urllib.parse.urlencode({"after": encode_cursor("attention", attention_4975)}),
        "queue deep (page 200), by due time": "/agent/?"
        + urllib.parse.urlencode({"sort": "due", "after": encode_cursor("due", row_4975)}),
        "ticket page": f"/agent/tickets/{busiest}",
        # The app's emptiest logged-in page (a small form): the floor every authenticated page pays.
        "floor: logged-in form": "/account/password",
    }
