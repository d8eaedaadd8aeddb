"""The migrations build the schema the models describe; the credit service's (0006) goes down and
up again, and the demo seed then passes the ledger check."""

import os
import subprocess
import sys

from tests.conftest import fresh_database

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def flask(database_url, *args):
    env = dict(os.environ, DATABASE_URL=database_url, FLASK_APP="wsgi")
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def check_round_trip(database_url):
    for args in (("db", "upgrade"), ("db", "check"), ("db", "downgrade", "0005"), ("db", "upgrade")):
        result = flask(database_url, *args)
        assert result.returncode == 0, result.stderr[-2000:]
    seeded = flask(database_url, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    verified = flask(database_url, "credits", "verify")
    assert verified.returncode == 0 and "Ledger OK" in verified.stdout


def test_upgrade_to_head_matches_the_models(tmp_path):
    with fresh_database(tmp_path) as url:
        check_round_trip(url)
