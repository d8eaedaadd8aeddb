"""A paid submission (or an agent's reply) in-process: CPU ms and SQL statements per request, and
where the time goes.

Usage: .venv/bin/python bench/write_profile.py [--db sqlite|postgres] [--reply] [--requests 300]
                                                [--pyinstrument out.txt] [--sql]

The data are bench/submit.py's (its `prepare`: migrations, customers with Business banks, the
technicians, in reply mode tickets to answer); one logged-in client of Flask's test client posts
the same forms as the HTTP benchmark, with CSRF on, after 30 unmeasured warm-up requests. CPU is
this process's (time.process_time), so it does not depend on what else runs; SQL statements are
counted at the cursor. `--sql` prints the statements of one request; `--pyinstrument FILE` writes
a pyinstrument profile of the measured requests (pyinstrument on PYTHONPATH).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.submit import PASSWORD, prepare, reply_form, submission_form  # noqa: E402


def _csrf(client, path):
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    return match.group(1)


def floor_form(i, n, token, seeded):
    """The floor every form post pays: the login, the session, CSRF, a flash and the redirect."""
    return "/bench-floor", {"csrf_token": token, "body": f"Floor {n}"}, "/portal/"


def _add_floor_view(app):
    from flask import flash, redirect, url_for
    from flask_login import current_user, login_required
    from flask_wtf import FlaskForm
    from wtforms import TextAreaField

    class FloorForm(FlaskForm):
        body = TextAreaField()

    @login_required
    def floor():
        form = FloorForm()
        if not form.validate_on_submit():
            return "invalid", 400
        flash(f"Done for {current_user.name}.", "success")
        return redirect(url_for("tickets_portal.tickets"))

    app.add_url_rule("/bench-floor", "bench_floor", floor, methods=["POST"])


def measure(database_url, args):
    env = dict(
        os.environ, DATABASE_URL=database_url, SECRET_KEY="bench-" + uuid.uuid4().hex, FLASK_APP="wsgi"
    )
    env["AGENT_SEAT_LIMIT"] = "50"
    seeded = prepare(env, 2, reply_mode=args.reply, tickets_each=10)
    os.environ.update(env)
    from sqlalchemy import event

    from helpdesk import create_app
    from helpdesk.extensions import db

    app = create_app()
    if args.floor:
        _add_floor_view(app)
    client = app.test_client()
    email = "bench.tech0@example.com" if args.reply else "bench0@example.com"
    login_token = _csrf(client, "/login")
    response = client.post("/login", data={"csrf_token": login_token, "email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    page = f"/agent/tickets/{seeded['tickets'][0][0]}" if args.reply else "/portal/tickets/new"
    token = _csrf(client, page)
    make_form = reply_form if args.reply else submission_form
    if args.floor:
        make_form = floor_form
    statements = []

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, _params, _context, _many):
        statements.append(statement)

    # As bench/submit.py's clients do, every request carries the cookie of the login: the flash
    # messages of the redirects must not pile up in the session.
    cookie = client.get_cookie("session").value

    def post(n):
        path, form, success = make_form(0, n, token, seeded)
        client.set_cookie("session", cookie)
        response = client.post(path, data=form)
        assert response.status_code == 302 and success in response.location, (response.status_code, path)

    for n in range(30):
        post(n)
    statements.clear()
    profiler = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    elif args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    if args.under_callgrind:  # this process runs under `valgrind --tool=callgrind --instr-atstart=no`
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)
    began_cpu, began = time.process_time(), time.perf_counter()
    for n in range(30, 30 + args.requests):
        post(n)
    cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
    if args.under_callgrind:
        subprocess.run(["callgrind_control", "--dump", str(os.getpid())], check=True, capture_output=True)
        subprocess.run(
            ["callgrind_control", "--instr=off", str(os.getpid())], check=True, capture_output=True
        )
    if args.cprofile:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    elif profiler is not None:
        profiler.stop()
        with open(args.pyinstrument, "w") as out:
            out.write(profiler.output_text(unicode=True, color=False, show_all=False))
    per_request = len(statements) / args.requests
    kinds = Counter(s.split(None, 1)[0].upper() for s in statements)
    print(
        f"{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]:10} {'floor' if args.floor else 'reply' if args.reply else 'submission'}: "
        f"{cpu * 1000 / args.requests:.2f} ms CPU, {wall * 1000 / args.requests:.2f} ms wall, "
        f"{per_request:.1f} SQL statements per request "
        + ", ".join(f"{k} {v / args.requests:.1f}" for k, v in kinds.most_common())
    )
    if args.sql:
        statements.clear()
        post(10_000)
        for statement in statements:
            print("   ", " ".join(statement.split())[:220])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def run_under_callgrind(args):
    """Run this script again under callgrind (instrumentation off until the measured requests,
    and subprocesses untraced), then print the instructions per measured request."""
    os.makedirs(args.callgrind, exist_ok=True)
    argv = [a for a in sys.argv[1:]]
    at = argv.index("--callgrind")
    del argv[at : at + 2]
    out = os.path.join(os.path.abspath(args.callgrind), "callgrind.out.%p")
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    child = subprocess.run(
        [*command, sys.executable, os.path.abspath(__file__), *argv, "--under-callgrind"],
        capture_output=True,
        text=True,
    )
    print(child.stdout, end="")
    if child.returncode:
        print(child.stderr[-3000:], file=sys.stderr)
        return
    pid = re.search(r"==(\d+)== ", child.stderr).group(1)
    with open(os.path.join(args.callgrind, f"callgrind.out.{pid}.1")) as dump:
        total = int(re.search(r"^summary: (\d+)", dump.read(), re.M).group(1))
    print(
        f"callgrind: {total / args.requests / 1e6:.2f} M instructions per request "
        f"({os.path.join(args.callgrind, f'callgrind.out.{pid}.1')})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--reply", action="store_true")
    parser.add_argument(
        "--floor", action="store_true", help="a form post that writes nothing: the floor of every request"
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pyinstrument", metavar="FILE")
    parser.add_argument("--cprofile", metavar="FILE", help="a cProfile (CPU time) of the measured requests")
    parser.add_argument(
        "--callgrind",
        metavar="DIR",
        help="run under valgrind's callgrind and count the instructions of the measured requests only "
        "(load-independent; slow: use --requests 20); the profile is left in DIR for callgrind_annotate",
    )
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request")
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.callgrind:
        return run_under_callgrind(args)
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
            measure(f"sqlite:///{folder}/bench.sqlite3", args)
        return
    import psycopg

    name = f"helpdesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        measure(args.pg_server.rsplit("/", 1)[0] + "/" + name, args)
    finally:
        with psycopg.connect(args.pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
