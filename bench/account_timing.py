"""Do the account pages that take an address answer in the same time whether it has an account?

    .venv/bin/python bench/account_timing.py [--db sqlite|postgres|both] [--requests 300]
                                             [--flows reset,register,resend]

For each flow, `--requests` posts naming an address that has an account and as many naming one
that has none, interleaved (in pairs, each path first in half of them), through Flask's test
client; each post's
CPU time (`time.process_time`, this process: SQLite's work and PostgreSQL's client side) is added
to its path's total. Every post names a different address, so no per-address limit (3 reset mails
or notices an hour) turns a known address into a cheap one; the per-client limit
(REGISTER_PER_HOUR) is raised out of the way (both paths take it alike). argon2 runs at the tests'
cheapest settings (`--real-argon2`: the default ones), so the password hash that registration pays
on both paths does not hide a difference in the rest.

- reset:    POST /reset-password, an active account's address against an unknown one;
- register: POST /register, an address that has an account against a new one (which creates it);
- resend:   POST /register/resend, an account awaiting confirmation against an unknown address.

It also reports the SQL statements each path ran (counted at the cursor, mean per post).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402  (the block above must run first)
import gc  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

from bench.dataset import backends, bench_database  # noqa: E402

PASSWORD = "bench-password-1"
FLOWS = ("reset", "register", "resend")


def _config(database_url, real_argon2=False):
    cheap = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1}
    return {
        "SECRET_KEY": "bench-account-timing",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        **({} if real_argon2 else cheap),
        "REGISTER_PER_HOUR": 10**9,
        "MAIL_BACKEND": "outbox",
    }


def _seed(requests):
    """Active confirmed accounts for reset and register, unconfirmed ones for resend."""
    from helpdesk.accounts.models import User
    from helpdesk.accounts.passwords import hash_password
    from helpdesk.dbtypes import utcnow
    from helpdesk.extensions import db

    digest = hash_password(PASSWORD)
    for n in range(requests):
        db.session.add(
            User(
                email=f"known{n}@example.com",
                name=f"Known {n}",
                password_hash=digest,
                email_confirmed_at=utcnow(),
            )
        )
        db.session.add(
            User(
                email=f"waiting{n}@example.com",
                name=f"Waiting {n}",
                password_hash=digest,
                email_confirmed_at=None,
            )
        )
    db.session.commit()


def _post(flow, known, n):
    """The path and form of post `n` of `flow`, naming a known or an unknown address."""
    if flow == "reset":
        return "/reset-password", {"email": f"known{n}@example.com" if known else f"nobody{n}@example.com"}
    if flow == "resend":
        return "/register/resend", {"email": f"waiting{n}@example.com" if known else f"nobody{n}@example.com"}
    email = f"known{n}@example.com" if known else f"new{n}@example.com"
    return "/register", {
        "email": email,
        "name": "Bench Person",
        "password": "a-long-bench-pass-9",
        "confirm": "a-long-bench-pass-9",
        "timezone": "UTC",
    }


def run(backend, args):
    from sqlalchemy import event

    from helpdesk import create_app
    from helpdesk.extensions import db

    with bench_database(backend) as url:
        app = create_app(_config(url, args.real_argon2))
        with app.app_context():
            db.create_all()
            from helpdesk.demo.seed import seed_reference_data  # the plans registration offers

            seed_reference_data()
            db.session.commit()
            _seed(args.requests + 1)  # the last for the warm-up
            engine = db.engine
        statements = [0]

        def count(*_args, **_kwargs):
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        client = app.test_client()
        for flow in args.flows:
            for known in (True, False):  # warm-up: templates, statements, caches
                path, form = _post(flow, known, args.requests)
                client.post(path, data=form)
            order = random.Random(1)
            cpu = {True: 0.0, False: 0.0}
            sql = {True: 0, False: 0}
            gc.disable()  # collected between pairs: a collection lands in no post's time
            for n in range(args.requests):
                gc.collect()
                for known in (True, False) if order.random() < 0.5 else (False, True):  # either first
                    path, form = _post(flow, known, n)
                    before = statements[0]
                    start = time.process_time()
                    response = client.post(path, data=form)
                    cpu[known] += time.process_time() - start
                    sql[known] += statements[0] - before
                    if response.status_code not in (200, 302):
                        raise SystemExit(f"{flow}: {path} answered {response.status_code}")
            gc.enable()
            k, u = (cpu[x] / args.requests * 1000 for x in (True, False))
            print(
                f"{backend:8} {flow:8} known {k:6.2f} ms  unknown {u:6.2f} ms  "
                f"(known/unknown {k / u:4.2f}; statements {sql[True] / args.requests:4.1f} / "
                f"{sql[False] / args.requests:4.1f})",
                flush=True,
            )
        event.remove(engine, "before_cursor_execute", count)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--flows", default=",".join(FLOWS))
    parser.add_argument("--real-argon2", action="store_true", help="the default ARGON2_* settings")
    args = parser.parse_args()
    args.flows = [f for f in args.flows.split(",") if f]
    for backend in backends(args):
        run(backend, args)


if __name__ == "__main__":
    main()
