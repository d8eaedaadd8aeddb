"""The migrations (through 0003, the credit service) build the schema the models describe."""

import os
import subprocess
import sys
import uuid

from sqlalchemy.engine import make_url

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def flask(database_url, *args):
    env = dict(os.environ, DATABASE_URL=database_url, FLASK_APP="wsgi")
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def check_round_trip(database_url):
    for args in (("db", "upgrade"), ("db", "check"), ("db", "downgrade", "0002"), ("db", "upgrade")):
        result = flask(database_url, *args)
        assert result.returncode == 0, result.stderr[-2000:]
    seeded = flask(database_url, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    verified = flask(database_url, "credits", "verify")
    assert verified.returncode == 0 and "Ledger OK" in verified.stdout


def test_upgrade_to_head_matches_the_models(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        check_round_trip("sqlite:///" + str(tmp_path / "migrated.sqlite3"))
        return
    import psycopg

    url = make_url(server)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"helpdesk_migr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        check_round_trip(url.set(database=name).render_as_string(hide_password=False))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
