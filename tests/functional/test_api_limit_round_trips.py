"""The API's token check and rate limit on PostgreSQL: one autocommitted statement (the token read,
its count a CTE of that SELECT) instead of a transaction of five round trips; an unknown token
writes nothing; a revoked or expired token, or one whose owner left, is refused; the count's
commit does not wait for the disk. Seen on the wire: libpq's trace of every message the app's
connections send (committing: the requests use the pool's own connections)."""

import re
import tempfile
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import event, func, select, text

from helpdesk.accounts import throttle
from helpdesk.accounts.models import Throttle
from helpdesk.extensions import db

from .api_support import bearer, is_problem

pytestmark = pytest.mark.postgres_only


class Wire:
    """The messages the app's connections send while it is open: 'Query <sql>' for the simple
    protocol, 'Parse <sql>' for a statement prepared now, 'Bind <name>' for one prepared before."""

    def __init__(self, engine):
        self.engine = engine
        self.file = tempfile.TemporaryFile()
        self.traced = []

    def _checkout(self, dbapi_connection, _record, _proxy):
        pgconn = dbapi_connection.pgconn
        pgconn.trace(self.file.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        self.traced.append(pgconn)

    def __enter__(self):
        event.listen(self.engine, "checkout", self._checkout)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "checkout", self._checkout)
        for pgconn in self.traced:
            pgconn.untrace()
        self.file.seek(0)
        lines = self.file.read().decode(errors="replace").splitlines()
        self.file.close()
        # A round trip ends with Sync (extended protocol) or is one Query. psycopg prepares a
        # statement the fifth time a connection runs it (prepare_threshold) in a round trip of its
        # own (Parse, Describe, Sync), once per connection: kept apart in `preparations`, so which
        # request of the suite's order crosses the threshold does not change the count.
        self.round_trips, self.preparations, sent = [], [], []
        for line in lines:
            found = re.search(r"^F\t\d+\t(\w+)", line)
            if not found:
                continue
            kind = found.group(1)
            if kind == "Query" or kind == "Sync":
                if kind == "Sync" and sent and set(sent) <= {"Parse", "Describe"}:
                    self.preparations.append(line)
                else:
                    self.round_trips.append(line)
                sent = []
            else:
                sent.append(kind)
        self.messages = []
        for line in lines:
            found = re.search(r"^F\t\d+\t(Query|Parse|Bind)\t(.*)", line)
            if found:
                self.messages.append(f"{found.group(1)} {found.group(2).strip()}")


@pytest.mark.committing
def test_the_token_check_and_its_count_are_one_round_trip_before_the_request_s_transaction(app, desk):
    headers = bearer(desk.tech_it)
    client = app.test_client()
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200  # the pool is warm
    with Wire(db.engine) as wire:
        response = client.get("/api/v1/tickets", headers=headers)
    assert response.status_code == 200
    begin = next(i for i, m in enumerate(wire.round_trips) if "BEGIN" in m)
    assert begin == 1, wire.messages  # one round trip before the request's transaction
    first = next(i for i, m in enumerate(wire.messages) if "BEGIN" in m)
    # one execution (a Bind each, the statement parsed now or prepared by an earlier request)
    executed = [m for m in wire.messages[:first] if m.startswith("Bind")]
    assert len(executed) == 1, wire.messages
    assert "'api:" in executed[0]  # its values: the count's key (and the token's hash)
    parsed = [m for m in wire.messages[:first] if m.startswith("Parse")]
    assert all("WITH counted AS" in m for m in parsed), parsed  # the count's CTE, then the token
    # in all: 1 for the token, then BEGIN, the queue's plan setting, its page, COMMIT
    assert len(wire.round_trips) == 5, wire.messages
    assert len(wire.preparations) <= 1, wire.messages  # the token's statement, if its fifth run


@pytest.mark.committing
def test_a_revoked_or_expired_token_or_a_departed_owner_is_refused_by_the_one_statement(app, desk):
    from helpdesk.api.models import ApiToken
    from helpdesk.dbtypes import utcnow

    client = app.test_client()

    def token_of(user):
        headers = bearer(user)
        return headers, db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()

    revoked, token = token_of(desk.tech_it)
    assert client.get("/api/v1/tickets", headers=revoked).status_code == 200
    token.revoked_at = utcnow()
    db.session.commit()
    assert is_problem(client.get("/api/v1/tickets", headers=revoked), 401)

    expired, token = token_of(desk.tech_it)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert is_problem(client.get("/api/v1/tickets", headers=expired), 401)

    departed, _token = token_of(desk.requester)
    assert client.get("/api/v1/tickets", headers=departed).status_code == 200
    desk.requester.active = False
    db.session.commit()
    assert is_problem(client.get("/api/v1/tickets", headers=departed), 401)
    assert client.get("/api/v1/tickets", headers=bearer(desk.tech_sales)).status_code == 200


@pytest.mark.committing
def test_an_unknown_token_writes_nothing_and_a_refused_request_stays_counted(app, desk, monkeypatch):
    client = app.test_client()
    unknown = {"Authorization": "Bearer hd_" + "A" * 43}
    assert is_problem(client.get("/api/v1/tickets", headers=unknown), 401)
    assert db.session.scalar(select(func.count()).select_from(Throttle)) == 0

    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 2)
    headers = bearer(desk.requester)
    answers = [client.get("/api/v1/tickets", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    db.session.expire_all()
    assert db.session.scalar(select(Throttle.count).where(Throttle.key.like("api:%"))) == 4
    assert client.get("/api/v1/tickets", headers=bearer(desk.tech_it)).status_code == 200  # per token


def test_the_relaxed_count_turns_off_synchronous_commit_for_its_own_transaction(app):
    setting = text("SHOW synchronous_commit")
    assert db.session.scalar(setting) == "on"
    throttle.take("sign-in:someone", timedelta(minutes=1))
    assert db.session.scalar(setting) == "on"  # the sign-in throttle's counts stay durable
    throttle.take("api:relaxed", timedelta(minutes=1), relaxed=True)
    assert db.session.scalar(setting) == "off"
    assert throttle.count("api:relaxed", timedelta(minutes=1)) == 1
