"""The help desk application factory."""

import os
import time

from flask import Flask

from helpdesk import (
    accounts,
    api,
    billing,
    branding,
    core,
    credits,
    demo,
    kb,
    mail,
    notices,
    replies,
    reports,
    tickets,
    webhooks,
)
from helpdesk.config import (
    Config,
    apply_environment_defaults,
    check_production,
    check_storage,
    from_environment,
)
from helpdesk.extensions import RELAXED_COMMIT, csrf, db, htmx_ext, login_manager, migrate


def create_app(test_config=None):
    """Build an app. Config order: Config, instance/config.py, environment, then `test_config`."""
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path())
    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environment())
    if test_config:
        app.config.update(test_config)
    finish_config(app)
    register_url_converters(app)
    register_extensions(app)
    register_domains(app)
    register_hooks(app)
    register_template_helpers(app)
    return app


def instance_path(environ=None):
    """HELPDESK_INSTANCE_PATH (made absolute) when set, else Flask's default: instance/ beside the
    package. Each app server may have its own; none keeps anything there that a request needs."""
    raw = (os.environ if environ is None else environ).get("HELPDESK_INSTANCE_PATH")
    return os.path.abspath(raw) if raw else None


def finish_config(app):
    """Derive settings that depend on others; refuse unsafe production settings."""
    os.makedirs(app.instance_path, exist_ok=True)
    url = app.config.get("DATABASE_URL") or "sqlite:///" + os.path.join(app.instance_path, "helpdesk.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
    if not app.config.get("MAX_CONTENT_LENGTH"):
        # Werkzeug answers 413 before reading a larger body: no request can stage more than this.
        app.config["MAX_CONTENT_LENGTH"] = (app.config["UPLOAD_MAX_POST_MB"] + 1) * 1024 * 1024
    apply_environment_defaults(app.config)
    check_storage(app.config)
    check_production(app.config)


def register_url_converters(app):
    from helpdesk.web import register_converters

    register_converters(app)


def register_extensions(app):
    from helpdesk.accounts.auth import load_session_user
    from helpdesk.accounts.sessions import signed_out
    from helpdesk.web import request_csrf_token

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=os.path.join(app.root_path, "..", "migrations"))
    csrf.init_app(app)
    # Flask-WTF gives templates generate_csrf (a global and a context processor): replaced by the
    # request's token read once made (web.request_csrf_token)
    app.jinja_env.globals["csrf_token"] = request_csrf_token
    app.context_processor(lambda: {"csrf_token": request_csrf_token})
    htmx_ext.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)
    login_manager.unauthorized_handler(signed_out)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _configure_sqlite(app)
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        _configure_postgresql(app)


LAST_USE = "helpdesk_last_use"  # a pooled connection's record: when it was made or last given back


def _configure_postgresql(app):
    """Check a pooled connection before use only when it sat idle for DATABASE_PING_IDLE_SECONDS.

    SQLAlchemy's pool_pre_ping pings on every checkout: one round trip before each request's
    first statement, and again after every commit that gives the connection back (an API
    request's rate limit commits before its page: two pings). A connection given back a moment
    ago was answering then; the pings that matter are for connections that sat idle while the
    server restarted, failed over, or an idle timeout (a firewall, PgBouncer) cut them, and those
    are pinged as before. A connection that fails its ping is replaced before the request uses it
    (DisconnectionError: the pool makes a new one). What is given up: a server that goes away
    within the window of a connection's last use fails that request, as the requests it was
    serving when it went away do anyway."""
    import time

    from sqlalchemy import event, exc

    idle = float(app.config["DATABASE_PING_IDLE_SECONDS"])
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _made(_dbapi_connection, record):
            record.info[LAST_USE] = time.monotonic()

        @event.listens_for(engine, "checkin")
        def _given_back(_dbapi_connection, record):
            record.info[LAST_USE] = time.monotonic()

        @event.listens_for(engine, "checkout")
        def _checked(dbapi_connection, record, _proxy):
            last = record.info.get(LAST_USE)
            if last is not None and time.monotonic() - last < idle:
                return
            try:
                engine.dialect.do_ping(dbapi_connection)
            except engine.dialect.loaded_dbapi.Error as error:
                raise exc.DisconnectionError("the connection failed its ping") from error


SQLITE_ANALYSIS_LIMIT = 400  # rows sampled per index by ANALYZE (SQLite's suggested value)


def _configure_sqlite(app):
    """Foreign keys on, WAL, and a busy timeout so concurrent writers wait instead of failing."""
    from flask import has_request_context, request
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # every commit on disk (see RELAXED_COMMIT)
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
            cursor.close()

        optimize_every = app.config.get("SQLITE_OPTIMIZE_SECONDS", 3600)

        @event.listens_for(engine, "checkin")
        def _optimize(dbapi_connection, record):
            # The planner picks the queue's partial indexes only with statistics (bench/README.md,
            # "Every request a full render"): SQLite's advice for long-lived connections is
            # `PRAGMA optimize` now and then. It analyses only the tables this connection used
            # whose statistics are missing or stale, each from a sample (analysis_limit): cheap,
            # run when a connection goes back to the pool, at most once per period.
            if dbapi_connection is None:
                return
            if record.info.pop(RELAXED_COMMIT, False):
                dbapi_connection.execute("PRAGMA synchronous=FULL")
            now = time.monotonic()
            last = record.info.setdefault("optimized_at", now)
            if now - last >= optimize_every:
                record.info["optimized_at"] = now
                dbapi_connection.execute("PRAGMA optimize")

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            # SQLite has no row locks, and a deferred transaction that later writes can fail with
            # "database is locked" instead of waiting. So writers (non-GET requests, commands)
            # serialise at BEGIN IMMEDIATE; page views read concurrently under WAL.
            reading = has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
            if connection.get_execution_options().get(RELAXED_COMMIT):
                connection.exec_driver_sql("PRAGMA synchronous=NORMAL")  # not allowed inside one
                connection.connection.info[RELAXED_COMMIT] = True  # FULL again when checked in
            connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def register_domains(app):
    """Each domain registers its models, blueprints, navigation, banners, admin sections and CLI
    commands in one init_app; lower domains first (a domain may use the services of those above
    it in this list, never the other way round)."""
    for domain in (
        core,
        accounts,
        tickets,
        branding,
        credits,
        billing,
        notices,
        mail,
        kb,
        replies,
        reports,
        webhooks,
        demo,
        api,
    ):
        domain.init_app(app)


def register_hooks(app):
    from helpdesk.web import register_web_hooks

    register_web_hooks(app)


def register_template_helpers(app):
    from helpdesk.web import register_template_filters

    register_template_filters(app)
