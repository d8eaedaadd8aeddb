"""SQLite keeps planner statistics only when asked: after `flask db upgrade` (ANALYZE) and, on a
long-lived pooled connection, with PRAGMA optimize when the connection goes back to the pool
(helpdesk/__init__.py). Without them the queue's partial indexes lost to a count index and the
default page took 20 ms instead of 6 on the large demo desk (bench/README.md)."""

import pytest
from sqlalchemy import text

from helpdesk import create_app
from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.notices.models import Notice


def _app(tmp_path, seconds):
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/stats-{seconds}.sqlite3",
            "SECRET_KEY": "t",
            "SQLITE_OPTIMIZE_SECONDS": seconds,
        }
    )


def _analysed(app):
    with app.app_context():
        with db.engine.connect() as connection:
            has_table = connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).scalar()
            if not has_table:
                return set()
            return set(connection.exec_driver_sql("SELECT tbl FROM sqlite_stat1").scalars())


def _read_notices(app):
    with app.app_context():
        db.create_all()
        user = User(email="a@example.com", name="A", role="customer", password_hash="x")
        db.session.add(user)
        db.session.flush()
        db.session.add_all([Notice(user_id=user.id, kind="at_risk", text=str(n)) for n in range(3)])
        db.session.commit()
        # a lookup through a (non-unique) index: the kind of query statistics help plan
        db.session.execute(text("SELECT id FROM notices WHERE user_id = 1 AND read_at IS NULL")).all()
        db.session.commit()
        db.session.remove()  # the connection goes back to the pool


@pytest.mark.parametrize("seconds, analysed", [(0, True), (3600, False)])
def test_a_pooled_connection_gathers_statistics_once_per_period(tmp_path, seconds, analysed):
    """PRAGMA optimize runs when a connection goes back to the pool, once per
    SQLITE_OPTIMIZE_SECONDS (an hour by default: not within the first hour)."""
    app = _app(tmp_path, seconds)
    _read_notices(app)
    assert ("notices" in _analysed(app)) is analysed


def test_a_migrated_database_has_statistics(tmp_path):
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/migrated.sqlite3", "SECRET_KEY": "t"})
    with app.app_context():
        upgrade()
    # ANALYZE ran (SQLite writes statistics only for tables holding rows: here the few that
    # migrations fill)
    assert "alembic_version" in _analysed(app)


def test_the_api_rate_limit_commits_without_waiting_for_the_disk_and_nothing_else_does(tmp_path):
    """The rate-limit count of an API request commits with synchronous=NORMAL (its loss in a
    power cut costs nothing); every connection is back to FULL in the pool, so credits, payments
    and tickets are on disk when their commit returns."""
    from sqlalchemy import event

    from helpdesk.accounts.auth import hash_password
    from helpdesk.api import tokens

    app = _app(tmp_path, 3600)
    with app.app_context():
        db.create_all()
        owner = User(email="t@example.com", name="T", role="admin", password_hash=hash_password("x" * 12))
        db.session.add(owner)
        db.session.flush()
        _token, secret = tokens.create_token(owner, name="bench", scopes=tokens.SCOPES, days=7)
        db.session.commit()
        pragmas = []
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *args: pragmas.append(args[2]) if args[2].startswith("PRAGMA synchronous") else None,
        )
        answer = app.test_client().get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 200
        assert pragmas == ["PRAGMA synchronous=NORMAL"]  # the count's transaction only
        for _ in range(3):  # whichever pooled connection a later transaction gets
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
