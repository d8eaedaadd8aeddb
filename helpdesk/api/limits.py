"""The API's rate limit: requests per token per window, counted in the database (the same atomic
counters as the sign-in throttle, accounts/throttle.py), so it holds across workers and servers.

On SQLite a request's first statement is the counter's upsert, before anything is read: a
transaction that writes first waits for the write lock (busy timeout) instead of failing on a
snapshot that another writer has moved on since. On PostgreSQL the token is read and counted by one
autocommitted statement (the count a CTE of the token's SELECT): one round trip where a
transaction took five."""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection

from helpdesk.accounts import throttle
from helpdesk.accounts.models import Throttle
from helpdesk.api import tokens
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed
from helpdesk.extensions import RELAXED_COMMIT, db


@dataclass(frozen=True)
class Admitted:
    """A request let in: its token and the token's scopes, read before the commit expires the
    objects, and its owner, loaded with their category grants and taken out of the session before
    the commit (a detached object keeps what was loaded: the request adds it back, no query)."""

    token_id: int
    scopes: frozenset
    owner: object


SYNC_OFF = text("SET LOCAL synchronous_commit = off")


class RateLimited(throttle.Throttled):
    """Past the token's limit: `retry_after` seconds until its window ends."""

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


class Unauthenticated(NotAllowed):
    """No usable token."""


def window():
    return timedelta(seconds=current_app.config["API_RATE_WINDOW_SECONDS"])


def admit(secret):
    """The token for `secret` (as an Admitted), its request counted and its last use noted. Raises Unauthenticated
    (unknown, expired, revoked, owner deactivated) or RateLimited past API_RATE_LIMIT requests in
    the window."""
    if not tokens.well_formed(secret):
        raise Unauthenticated("This token is unknown, expired or revoked.")
    if db.session.get_bind().dialect.name == "postgresql":
        return _admit_autocommitted(secret)
    # SQLite: the count first, in a transaction that writes before it reads (see the module's
    # docstring), committed without waiting for the disk (a crash may forget a few counts; a window
    # lasts a minute). The caller rolls back a refused request, so it counts and writes nothing.
    if not db.session().in_transaction():
        db.session.connection(execution_options={RELAXED_COMMIT: True})
    _count(secret)
    return _found(secret)


def _admit_autocommitted(secret):
    """PostgreSQL: the token is read and counted by one statement, its own transaction (no BEGIN
    and COMMIT round trips: 1 round trip instead of 5; tokens.counted_token_statement). An
    unknown token writes nothing; a known one is counted even when it is refused (revoked,
    expired, over its limit), which changes no window. The statement turns `synchronous_commit`
    off for itself (throttle.take's `relaxed`)."""
    bind = db.session.get_bind()
    if db.session().in_transaction() or isinstance(bind, Connection):
        # Something was read already, or the session works inside a transaction it was given (the
        # test suite's rolled-back tests): one transaction, the count's commit relaxed by SET LOCAL.
        db.session.execute(SYNC_OFF)
        _count(secret)
        return _found(secret)
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    now = utcnow()
    values = throttle.take_values(_key(secret), window(), now) | {"token_hash": tokens.digest(secret)}
    found = db.session.execute(tokens.counted_token_statement(), values).first()
    if found is None or not tokens.usable(found[0], found[1]):
        raise Unauthenticated("This token is unknown, expired or revoked.")
    token, owner, count, window_started = found
    if count == 1:  # a new window began
        throttle.prune_expired(now)
    _check_limit(count, window_started)
    return _admitted(token, owner)


def _key(secret):
    return f"api:{tokens.digest(secret)[:40]}"


def _count(secret, relaxed=False):
    key = _key(secret)
    count = throttle.take(key, window(), relaxed=relaxed)
    _check_limit(count, lambda: db.session.get(Throttle, key).window_start)


def _check_limit(count, window_started):
    """RateLimited past the limit; `window_started`: when the count's window began (or a function
    that reads it: read only for a refusal)."""
    limit = current_app.config["API_RATE_LIMIT"]
    if count > limit:
        started = window_started() if callable(window_started) else window_started
        left = (started + window() - utcnow()).total_seconds()
        raise RateLimited(
            f"This token may send {limit} requests every {int(window().total_seconds())} seconds.",
            max(1, int(left + 0.999)),
        )


def _found(secret):
    found = tokens.authenticate(secret)
    if found is None:
        raise Unauthenticated("This token is unknown, expired or revoked.")
    return _admitted(*found)


def _admitted(token, owner):
    tokens.note_use(token, utcnow())
    db.session.expunge(owner)
    return Admitted(token.id, token.scope_set, owner)
