"""Fixtures: one app per test session on SQLite or PostgreSQL, a clean database for every test."""

import contextlib
import os
import socket
import tempfile
import uuid

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from sqlalchemy import text
from sqlalchemy.engine import make_url

from helpdesk import create_app
from helpdesk.extensions import db
from tests import factories

PG_ENV = "TEST_DATABASE_URL"


def _create_pg_database(server_url):
    """Create a uniquely named database on the server; never reuse or assume a clean server."""
    import psycopg

    url = make_url(server_url)
    name = f"helpdesk_test_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return (
        url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False),
        admin,
        name,
    )


def _drop_pg_database(admin, name):
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(folder):
    """A new empty database for this run: on PostgreSQL when TEST_DATABASE_URL names a server
    (created here, dropped after), else a SQLite file in `folder`."""
    server = os.environ.get(PG_ENV)
    if server:
        url, admin, name = _create_pg_database(server)
        try:
            yield url
        finally:
            _drop_pg_database(admin, name)
    else:
        yield f"sqlite:///{folder}/{uuid.uuid4().hex}.sqlite3"


POSTGRES_ONLY_REASON = (
    "needs PostgreSQL row locks (SELECT ... FOR UPDATE); SQLite serialises writers with BEGIN "
    "IMMEDIATE instead. `make test` runs these in its PostgreSQL pass (TEST_DATABASE_URL)."
)


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only run in the PostgreSQL pass and say why they skip on SQLite."""
    if os.environ.get(PG_ENV):
        return
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason=POSTGRES_ONLY_REASON))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


def make_test_config(database_url, tmp_dir, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "UPLOAD_FOLDER": os.path.join(tmp_dir, "uploads"),
        "PAGE_CACHE_GENERATION_FILE": os.path.join(tmp_dir, "write-generation"),
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


class FreshUserClient(FlaskClient):
    """Test client whose every request looks up its user again.

    Tests keep one app context open (so factories and requests share a session), and
    Flask-Login caches the user in `g` for the context: without this, a request could see the
    previous request's user instead of what its own session cookie says.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(make_test_config(database_url, str(tmp_path_factory.mktemp("files"))))
    app.test_client_class = FreshUserClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def wipe(app):
    """Remove every row, leaving the schema: each test starts from an empty database."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())


@pytest.fixture(autouse=True)
def app_ctx(app):
    """Every test runs inside an app context on an empty database."""
    with app.app_context():
        yield app
        db.session.remove()
    wipe(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ref():
    """Categories IT, Sales, Billing and the four priorities, as dicts by name."""
    from helpdesk.demo.seed import seed_reference_data

    categories, priorities = seed_reference_data()
    db.session.commit()
    return type("Ref", (), {"categories": categories, "priorities": priorities})


@pytest.fixture
def login(client):
    """login(user): make `client` act as `user` (through the session, as Flask-Login reads it)."""

    def _login(user, as_client=None):
        target = as_client or client
        with target.application.test_request_context(environ_base=target.environ_base):
            browser = _create_identifier()  # login_user() stores it: which browser holds the session
        with target.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
            sess["_id"] = browser
        return target

    return _login


@pytest.fixture
def make():
    """The factories module, bound to the test database session."""
    return factories


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any test that reaches beyond this machine (a real SMTP server, Stripe, ...)."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "localhost", "::1")
            and not host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True, scope="session")
def _xdg_dirs():
    os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="helpdesk-xdg-"))
