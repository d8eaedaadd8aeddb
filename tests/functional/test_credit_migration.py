"""The migrations build the schema the models describe; the credit service's (0006) goes down and
up again, and the demo seed then passes the ledger check."""

import warnings

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import fresh_database, make_test_config


def flask(app, *args):
    """`flask <args>` for `app`, in this process (Alembic runs in-process, as in test_migrations)."""
    with app.app_context(), warnings.catch_warnings():
        # SQLite reflects no expression indexes; `db check` compares them on PostgreSQL only.
        warnings.filterwarnings("ignore", "autogenerate skipping .* index")
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        return app.test_cli_runner().invoke(args=list(args))


def check_round_trip(app):
    for args in (("db", "upgrade"), ("db", "check"), ("db", "downgrade", "0005"), ("db", "upgrade")):
        result = flask(app, *args)
        assert result.exit_code == 0, (result.output[-2000:], result.exception)
    seeded = flask(app, "seed-demo")
    assert seeded.exit_code == 0, (seeded.output[-2000:], seeded.exception)
    verified = flask(app, "credits", "verify")
    assert verified.exit_code == 0 and "Ledger OK" in verified.output


def test_upgrade_to_head_matches_the_models(tmp_path):
    with fresh_database(tmp_path) as url:
        app = create_app(make_test_config(url, str(tmp_path)))
        try:
            check_round_trip(app)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
