"""PostgreSQL's pooled connections: checked with a ping before use once they sat idle (a server
restart, a failover or an idle timeout ends them), not on every checkout (a round trip per
request, and two for an API request whose rate limit commits first)."""

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import make_test_config

pytestmark = pytest.mark.postgres_only  # SQLite's files need no check


def _app(database_url, tmp_path, idle):
    return create_app(make_test_config(database_url, str(tmp_path), DATABASE_PING_IDLE_SECONDS=idle))


def _backend(engine):
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def _server_ends(database_url, pid):
    """What a restart or an idle timeout does to one connection: the server closes it."""
    admin = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
    with admin.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_closed_while_it_sat_idle_is_replaced_before_a_request_uses_it(database_url, tmp_path):
    app = _app(database_url, tmp_path, idle=0.2)
    with app.app_context():
        first = _backend(db.engine)
        _server_ends(database_url, first)
        time.sleep(0.3)  # idle for longer than the window: pinged, found closed, replaced
        response = app.test_client().get("/healthz")
        assert response.status_code == 200 and response.get_json()["database"] == "ok"
        assert _backend(db.engine) != first
        db.engine.dispose()


def test_a_connection_given_back_a_moment_ago_is_used_without_a_ping(database_url, tmp_path):
    """Inside the window nothing is sent before the first statement: a connection the server closed
    a moment after its last use fails that statement (as the requests it was serving when the
    server went away do anyway), and the pool replaces it for the next one."""
    app = _app(database_url, tmp_path, idle=3600)
    with app.app_context():
        first = _backend(db.engine)
        _server_ends(database_url, first)
        with pytest.raises(OperationalError), db.engine.connect() as conn:
            conn.scalar(text("SELECT 1"))
        assert _backend(db.engine) != first
        db.engine.dispose()
