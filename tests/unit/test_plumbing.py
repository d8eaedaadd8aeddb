"""The shared plumbing every domain relies on: the write helper, domain events, the CSV writer."""

from datetime import UTC, date, datetime

from helpdesk import events
from helpdesk.accounts.models import Organization
from helpdesk.actions import perform
from helpdesk.csvexport import csv_text, safe_cell
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db


def _add_org(name, fail=False):
    db.session.add(Organization(name=name))
    db.session.flush()
    if fail:
        raise ValidationFailed(f"{name} is refused")
    return name


def _names():
    db.session.expire_all()
    return db.session.scalars(db.select(Organization.name).order_by(Organization.name)).all()


def test_perform_commits_what_the_service_did_and_returns_its_value():
    outcome = perform(_add_org, "Kept")
    db.session.rollback()  # nothing left to roll back: it was committed
    assert outcome.ok and outcome.value == "Kept" and outcome.message == ""
    assert _names() == ["Kept"]


def test_perform_rolls_back_a_refused_service_and_returns_the_error():
    outcome = perform(_add_org, "Dropped", fail=True)
    assert not outcome.ok and isinstance(outcome.error, ValidationFailed)
    assert outcome.message == "Dropped is refused"
    assert _names() == []


def test_an_event_calls_its_receivers_in_the_order_they_were_connected_once_each():
    event = events.Event("probe", "for the test")
    calls = []
    first = event.connect(lambda **kw: calls.append(("first", kw)) or 1)
    event.connect(lambda **kw: calls.append(("second", kw)) or 2)
    event.connect(first)  # connecting again changes nothing
    assert event.send(x=5) == [1, 2]
    assert calls == [("first", {"x": 5}), ("second", {"x": 5})]


def test_csv_cells_never_become_formulas_and_keep_numbers_and_dates():
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("-2+3") == "'-2+3" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell(-250) == -250 and safe_cell(None) == ""
    assert safe_cell(date(2026, 12, 2)) == "2026-12-02"
    assert safe_cell(datetime(2026, 12, 2, 9, 30, tzinfo=UTC)) == "2026-12-02T09:30:00+00:00"
    text = csv_text(["name", "amount"], [("=cmd", -5), ("Ann, Co", 7)])
    assert text == 'name,amount\r\n\'=cmd,-5\r\n"Ann, Co",7\r\n'


def test_a_read_only_request_commits_and_a_failed_one_rolls_back(tmp_path):
    """psycopg drops a connection's prepared statements on ROLLBACK, so a request that only read
    ends its transaction with COMMIT (and keeps PostgreSQL's plans); a failure still rolls back."""
    from sqlalchemy import event

    from helpdesk import create_app
    from tests.conftest import make_test_config

    app = create_app(make_test_config(f"sqlite:///{tmp_path}/rw.sqlite3", str(tmp_path)))
    ends = []
    with app.app_context():
        db.create_all()
        event.listen(db.engine, "commit", lambda conn: ends.append("commit"))
        event.listen(db.engine, "rollback", lambda conn: ends.append("rollback"))

    @app.get("/boom")
    def boom():
        db.session.execute(db.select(Organization.id)).all()
        raise RuntimeError("a bug")

    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert ends == ["commit"]
    ends.clear()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.get("/boom").status_code == 500
    assert ends[0] == "rollback"
    with app.app_context():
        db.engine.dispose()
