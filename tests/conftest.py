"""Fixtures: one app per test session (per xdist worker) on SQLite or PostgreSQL; each test runs in a
transaction rolled back at its end, or, when marked `committing`, commits for real and is wiped after."""

import contextlib
import os
import socket
import tempfile
import threading
import time
import uuid

import pytest
from flask import Flask, current_app, g, has_app_context
from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from flask_sqlalchemy.session import Session as FlaskSession
from jinja2 import BytecodeCache
from sqlalchemy import event, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

from helpdesk import create_app
from helpdesk.credits import ledger_guard
from helpdesk.extensions import db
from tests import factories

PG_ENV = "TEST_DATABASE_URL"
# serve_forever's poll interval for the servers tests run in threads: shutdown() waits for the loop
# to look (every 0.5 s by default: half a second at the end of each browser test).
SERVER_POLL = 0.05


class _SharedTemplates(BytecodeCache):
    """Compiled templates shared by every app a test process creates (Jinja's bytecode cache, kept
    in memory, each entry checked against its template's source): the session's app, and the
    apps of the live servers and of the tests that build their own, each of which compiled every
    template it rendered again (0.15 s of CPU for six pages, against 0.04 s from this cache)."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        found = self.compiled.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = (bucket.checksum, bucket.code)


_SHARED_TEMPLATES = _SharedTemplates()
_create_jinja_environment = Flask.create_jinja_environment


def _jinja_environment_with_shared_templates(app):
    environment = _create_jinja_environment(app)
    environment.bytecode_cache = _SHARED_TEMPLATES
    return environment


Flask.create_jinja_environment = _jinja_environment_with_shared_templates


def _create_pg_database(server_url, label="run"):
    """Create a uniquely named database on the server; never reuse or assume a clean server."""
    import psycopg

    url = make_url(server_url)
    name = f"helpdesk_test_{label}_{uuid.uuid4().hex[:12]}"
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
def fresh_database(folder, label="run"):
    """A new empty database: on PostgreSQL when TEST_DATABASE_URL names a server (created here,
    dropped after), else a SQLite file in `folder`. `label` (e.g. the xdist worker) only names it."""
    server = os.environ.get(PG_ENV)
    if server:
        url, admin, name = _create_pg_database(server, label)
        try:
            yield url
        finally:
            _drop_pg_database(admin, name)
    else:
        yield f"sqlite:///{folder}/{label}-{uuid.uuid4().hex}.sqlite3"


def pytest_collection_modifyitems(config, items):
    """On SQLite, tests marked postgres_only are deselected (`make test` runs them in its
    PostgreSQL pass), so a run reports them as deselected, never as skipped."""
    if os.environ.get(PG_ENV):
        return
    kept = [item for item in items if not item.get_closest_marker("postgres_only")]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """One database per test session: with xdist, one per worker (gw0, gw1, ...)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with fresh_database(tmp_path_factory.mktemp("db"), label=worker) as url:
        yield url


def make_test_config(database_url, tmp_dir, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        # argon2id at its cheapest (1 pass over 8 KiB): a login costs microseconds, not 50 ms.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        "UPLOAD_FOLDER": os.path.join(tmp_dir, "uploads"),
        # Files on the local disk unless a test asks for S3 (s3_storage), whatever the shell sets.
        "ATTACHMENTS_S3_BUCKET": None,
        "ATTACHMENTS_S3_ENDPOINT_URL": None,
        "ATTACHMENTS_S3_PREFIX": "",
        "SERVER_NAME": None,
        "KB_COUNT_SECONDS": 0,  # knowledge-base views and searches written at once, not in batches
    }
    config.update(overrides)
    return config


_FLUSHED = "tests_flushed_since_commit"


@event.listens_for(FlaskSession, "after_flush")
def _note_flush(session, _flush_context):
    session.info[_FLUSHED] = True


@event.listens_for(FlaskSession, "after_transaction_end")
def _forget_flush(session, transaction):
    if transaction.parent is None:  # the session's own transaction ended (commit or rollback)
        session.info.pop(_FLUSHED, None)


def _unsaved(session):
    """Whether the session holds changes its transaction has not committed yet."""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_FLUSHED))


class FreshUserClient(FlaskClient):
    """Test client whose every request looks up its user again.

    Tests keep one app context open (so factories and requests share a session), and
    Flask-Login caches the user in `g` for the context: without this, a request could see the
    previous request's user instead of what its own session cookie says.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
            # What the test built before a request is the database the request starts from
            # (factories only flush): a rollback in the view must not take it away.
            if _unsaved(db.session):
                db.session.commit()
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
    """Remove every row, leaving the schema: what a `committing` test wrote is gone after it."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                # The ledger's guard refuses DELETE: lifted for the wipe only, on this connection's
                # transaction (another connection never sees the database without it).
                ledger_guard.uninstall(conn)
                for table in tables:
                    conn.execute(table.delete())
                ledger_guard.install(conn)


class JoinedSession(FlaskSession):
    """A Flask-SQLAlchemy session that uses the connection it was made with.

    Flask-SQLAlchemy 3.1's `Session.get_bind` picks an engine from `db.engines` and ignores a
    session's configured `bind`; SQLAlchemy's own `Session.get_bind` returns that bind first.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


@contextlib.contextmanager
def rolled_back(app):
    """Run the block in one database transaction that is rolled back at its end.

    SQLAlchemy's "join a session into an external transaction" recipe: an outer transaction on
    one connection; `db.session` is, while the block runs and for this app only, bound to that
    connection with join_transaction_mode="create_savepoint", so the app's `db.session.commit()`
    releases a savepoint and its `rollback()` goes back to one. Other apps a test creates get
    ordinary sessions on their own engines. On SQLite the app's "begin" hook opens the outer
    transaction (BEGIN IMMEDIATE) and SAVEPOINT works inside it.
    """
    connection = db.engine.connect()
    outer = connection.begin()
    joined = sessionmaker(
        class_=JoinedSession,
        db=db,
        query_cls=db.Query,
        bind=connection,
        join_transaction_mode="create_savepoint",
    )
    original = db.session
    owner = threading.get_ident()

    def make_session():
        if current_app._get_current_object() is not app:
            return original.session_factory()
        if threading.get_ident() != owner:
            raise RuntimeError(
                "a thread of a rolled-back test cannot share its connection: mark it committing"
            )
        return joined()

    db.session = scoped_session(make_session, scopefunc=original.registry.scopefunc)
    try:
        yield
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def app_ctx(app, request):
    """Every test runs inside an app context on an empty database, in a transaction rolled back
    at its end. Tests marked `committing` (threads or a second app that must see this test's data
    through other connections) commit for real instead, and every table is emptied after them."""
    if request.node.get_closest_marker("committing"):
        with app.app_context():
            yield app
            db.session.remove()
        wipe(app)
        return
    with app.app_context(), rolled_back(app):
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


# The reference data's rows as the first `ref` of a session wrote them, per database: later tests
# insert the same rows with five Core statements instead of seeding through the ORM again (30
# get-or-create round trips, a tenth of the functional tests' time). Taken only from a test whose
# reference tables were empty, so it holds nothing else.
REFERENCE_TABLES = ("categories", "priorities", "service_plans", "plan_priorities", "low_balance_thresholds")
_reference_rows = {}


def _reference_tables_empty():
    tables = db.metadata.tables
    return all(
        db.session.execute(select(literal(1)).select_from(tables[name]).limit(1)).first() is None
        for name in ("categories", "priorities", "service_plans")
    )


def _insert_reference_rows(snapshot):
    connection = db.session.connection()
    for name, rows in snapshot:
        if rows:
            connection.execute(db.metadata.tables[name].insert(), rows)
    if connection.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind (and a committing test's wipe restarts them):
        # move each past the rows just written, as the ORM's inserts would have.
        for name, rows in snapshot:
            if rows and "id" in rows[0]:
                top = max(row["id"] for row in rows)
                connection.execute(
                    text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :top)"),
                    {"table": name, "top": top},
                )


@pytest.fixture
def ref():
    """Categories IT, Sales, Billing and the four priorities, as dicts by name."""
    from helpdesk.demo.seed import seed_reference_data
    from helpdesk.tickets.models import Category, Priority

    key = db.engine.url.render_as_string(hide_password=False)
    snapshot = _reference_rows.get(key)
    if snapshot is not None and _reference_tables_empty():
        _insert_reference_rows(snapshot)
        categories = {c.name: c for c in db.session.scalars(select(Category))}
        priorities = {p.name: p for p in db.session.scalars(select(Priority))}
    else:
        empty = snapshot is None and _reference_tables_empty()
        categories, priorities = seed_reference_data()
        if empty:
            tables = db.metadata.tables
            _reference_rows[key] = [
                (name, [dict(row._mapping) for row in db.session.execute(select(tables[name]))])
                for name in REFERENCE_TABLES
            ]
    db.session.commit()  # reference data: the seeded state a desk starts from
    return type("Ref", (), {"categories": categories, "priorities": priorities})


@pytest.fixture
def login(client):
    """login(user): make `client` act as `user` (through the session, as Flask-Login reads it),
    signed in just now."""

    def _login(user, as_client=None):
        target = as_client or client
        with target.application.test_request_context(environ_base=target.environ_base):
            browser = _create_identifier()  # login_user() stores it: which browser holds the session
        with target.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
            sess["_id"] = browser
            sess["auth_at"] = time.time()  # signed in just now: no "Confirm it's you" step
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


# Object storage: moto's S3 in server mode (a real HTTP endpoint on 127.0.0.1), one per session.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask the network for a role's credentials
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def s3_server():
    """A moto S3 server (started once per session, on a free port): its URL and a client of it."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    yield url, client
    client.close()
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch):
    """A new empty bucket on the moto server, with boto3's credentials set for this test only."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    endpoint, client = s3_server
    bucket = f"helpdesk-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    return type("Bucket", (), {"name": bucket, "endpoint": endpoint, "client": client})


@pytest.fixture
def s3_storage(app, s3_bucket, monkeypatch):
    """The app stores attachments in a fresh bucket for this test (then back to its folder)."""
    from helpdesk.tickets import storage

    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_BUCKET", s3_bucket.name)
    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_ENDPOINT_URL", s3_bucket.endpoint)
    made = storage.backend(app)
    yield made
    storage.forget(app)
