"""Health check, configuration from the environment, and the demo seed command."""

import pytest

from helpdesk import create_app
from helpdesk.accounts.models import User
from helpdesk.config import from_environment
from helpdesk.extensions import db
from helpdesk.tickets.models import Category, Priority, Ticket
from tests.conftest import make_test_config


def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_503_when_the_database_is_down(tmp_path):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    app = create_app(make_test_config("postgresql+psycopg://postgres@127.0.0.1:1/none", str(tmp_path)))
    with app.app_context():
        response = app.test_client().get("/healthz")
        db.engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error" and body["database"].startswith("unavailable")


def test_environment_overrides_config():
    found = from_environment({"AGENT_SEAT_LIMIT": "2", "HELPDESK_DEMO_PAYMENTS": "yes", "SECRET_KEY": "s"})
    assert found == {"AGENT_SEAT_LIMIT": 2, "DEMO_PAYMENTS": True, "SECRET_KEY": "s"}
    with pytest.raises(ValueError):
        from_environment({"DEMO_PAYMENTS": "maybe"})


def test_environment_reaches_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENT_SEAT_LIMIT", "7")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "TESTING": True})
    assert app.config["AGENT_SEAT_LIMIT"] == 7


@pytest.mark.parametrize(
    "settings, message",
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-only-not-secret"}, "SECRET_KEY"),
        (
            {"SECRET_KEY": "x" * 40, "DEMO_PAYMENTS": True, "DATABASE_URL": "postgresql://h/db"},
            "DEMO_PAYMENTS",
        ),
        ({"SECRET_KEY": "x" * 40}, "DATABASE_URL"),
        ({"SECRET_KEY": "x" * 40, "DATABASE_URL": "postgresql://h/db"}, "PUBLIC_URL"),
        (
            {"SECRET_KEY": "x" * 40, "DATABASE_URL": "postgresql://h/db", "PUBLIC_URL": "http://desk"},
            "PUBLIC_URL",
        ),
    ],
)
def test_production_refuses_unsafe_settings(settings, message, monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "DEMO_PAYMENTS", "HELPDESK_SECRET_KEY", "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    config = {"HELPDESK_ENV": "production", "SECRET_KEY": None, **settings}
    with pytest.raises(RuntimeError, match=message):
        create_app(config)


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    app = create_app(
        {
            "HELPDESK_ENV": "production",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
            "PUBLIC_URL": "https://desk.example",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.config["REMEMBER_COOKIE_NAME"] == "__Host-remember"
    with app.app_context():
        from helpdesk.extensions import db as prod_db

        prod_db.create_all()
        response = app.test_client().get("/login", base_url="https://desk.example")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        cookie = response.headers.get("Set-Cookie", "")
        assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
        prod_db.session.remove()
        prod_db.engine.dispose()


def test_seed_demo_is_idempotent_and_creates_the_documented_accounts(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert f"Log in at {app.config['PUBLIC_URL']} with admin@example.com" in first.output
    counts = (
        db.session.scalar(db.select(db.func.count(User.id))),
        db.session.scalar(db.select(db.func.count(Ticket.id))),
        db.session.scalar(db.select(db.func.count(Category.id))),
        db.session.scalar(db.select(db.func.count(Priority.id))),
    )
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    again = (
        db.session.scalar(db.select(db.func.count(User.id))),
        db.session.scalar(db.select(db.func.count(Ticket.id))),
        db.session.scalar(db.select(db.func.count(Category.id))),
        db.session.scalar(db.select(db.func.count(Priority.id))),
    )
    assert counts == again and counts[1] >= 24 and counts[2] == 3 and counts[3] == 4
    roles = dict(db.session.execute(db.select(User.email, User.role)).all())
    assert roles["admin@example.com"] == "admin"
    assert roles["it.tech@example.com"] == roles["sales.tech@example.com"] == "technician"
    for email in (
        "alice@example.com",
        "bob@example.com",
        "carol@acme.example",
        "dave@acme.example",
        "john@example.com",
    ):
        assert roles[email] == "customer"
    carol = db.session.scalar(db.select(User).where(User.email == "carol@acme.example"))
    assert carol.is_org_manager and carol.organization.name == "Acme"


def test_the_demo_desk_has_nothing_in_the_future_and_shows_logged_time(app):
    from helpdesk.credits.models import TimeEntry
    from helpdesk.dbtypes import utcnow
    from helpdesk.tickets.models import Message

    app.test_cli_runner().invoke(args=["seed-demo"])
    now = utcnow()
    latest = [
        db.session.scalar(db.select(db.func.max(Ticket.updated_at))),
        db.session.scalar(db.select(db.func.max(Ticket.first_response_at))),
        db.session.scalar(db.select(db.func.max(Ticket.resolved_at))),
        db.session.scalar(db.select(db.func.max(Message.created_at))),
    ]
    assert all(moment <= now for moment in latest), latest  # never "Updated in 2 days"
    entries = db.session.scalars(db.select(TimeEntry)).all()
    assert sorted(e.minutes for e in entries) == [10, 25] and entries[0].ticket.status == "open"


def test_demo_password_logs_in(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    response = client.post("/login", data={"email": "alice@example.com", "password": "helpdesk-demo"})
    assert response.status_code == 302


def test_seeded_paid_priorities_are_charged_and_banks_keep_their_documented_balances(app, client):
    from helpdesk.credits import ledger as credits
    from helpdesk.credits.models import CreditAccount, LedgerEntry

    app.test_cli_runner().invoke(args=["seed-demo"])
    paid = db.session.execute(
        db.select(Ticket.id, Priority.credit_cost)
        .join(Priority, Priority.id == Ticket.priority_id)
        .join(User, User.id == Ticket.requester_id)
        .where(Priority.credit_cost > 0, User.email != "bob@example.com")
    ).all()
    assert paid, "the demo has High and Urgent tickets"
    charged = dict(
        db.session.execute(
            db.select(LedgerEntry.ticket_id, -LedgerEntry.amount).where(LedgerEntry.kind == "charge")
        ).all()
    )
    assert charged == {ticket_id: cost for ticket_id, cost in paid}
    balances = {a.owner_name: a.balance for a in db.session.scalars(db.select(CreditAccount))}
    assert balances["Acme"] == 500 and balances["Alice Archer"] == 1000
    assert credits.ledger_mismatches() == []
    client.post("/login", data={"email": "it.tech@example.com", "password": "helpdesk-demo"})
    assert "credits</span>" in client.get("/agent/?status=all").get_data(as_text=True)  # the paid marker


def test_create_user_goes_through_the_accounts_service_with_an_audit_entry(app):
    from helpdesk.accounts.models import AUDIT_ROLE, AuditEvent

    result = app.test_cli_runner().invoke(
        args=["create-user", "--email", "boss@example.com", "--name", "Boss", "--role", "admin"],
        input="long-enough-password\nlong-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "boss@example.com"))
    assert user.role == "admin"
    [entry] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.target_user_id == user.id)).all()
    assert (entry.kind, entry.old_value, entry.new_value) == (AUDIT_ROLE, "customer", "admin")


def test_create_user_over_the_seat_limit_asks_for_the_flag(app, make):
    for n in range(app.config["AGENT_SEAT_LIMIT"]):
        make.admin(email=f"a{n}@example.com")
    db.session.commit()
    runner = app.test_cli_runner()
    args = ["create-user", "--email", "extra@example.com", "--name", "Extra", "--role", "technician"]
    refused = runner.invoke(args=args, input="long-enough-password\nlong-enough-password\n")
    assert refused.exit_code != 0 and "--over-seat-limit" in refused.output
    assert db.session.scalar(db.select(User).where(User.email == "extra@example.com")) is None
    accepted = runner.invoke(
        args=[*args, "--over-seat-limit"], input="long-enough-password\nlong-enough-password\n"
    )
    assert accepted.exit_code == 0, accepted.output


def test_public_url_defaults_to_the_local_demo_and_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.delenv("HELPDESK_PUBLIC_URL", raising=False)
    assert (
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}).config["PUBLIC_URL"]
        == "http://127.0.0.1:5000"
    )
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:8000")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/b.db"})
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:8000"
    with app.app_context():
        from helpdesk.web import public_url

        assert public_url("accounts.login") == "http://127.0.0.1:8000/login"


def _install_default_calendar(**values):
    """The round-the-clock default calendar migration 0011 gives every install (nobody saved it)."""
    from helpdesk.dbtypes import utcnow
    from helpdesk.tickets.models import BusinessCalendar

    calendar = BusinessCalendar(
        category_id=None, timezone="UTC", always_open=True, updated_at=utcnow(), **values
    )
    db.session.add(calendar)
    db.session.commit()
    return calendar


def test_the_demo_desk_keeps_office_hours_on_a_migrated_database(app):
    from helpdesk.tickets import calendars

    _install_default_calendar()
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    default = calendars.calendar_of(None)
    assert not default.always_open and default.timezone == "Europe/London"  # as the README says
    assert sorted({i.weekday for i in default.intervals}) == [0, 1, 2, 3, 4]


def test_seeding_the_demo_keeps_round_the_clock_hours_an_admin_chose(app, make):
    from helpdesk.tickets import calendars

    _install_default_calendar(updated_by_id=make.admin().id)
    app.test_cli_runner().invoke(args=["seed-demo"])
    db.session.expire_all()
    assert calendars.calendar_of(None).always_open
