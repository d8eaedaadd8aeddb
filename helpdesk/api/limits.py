"""The API's rate limit: requests per token per window, counted in the database (the same atomic
counters as the sign-in throttle, accounts/throttle.py), so it holds across workers and servers.

A request's first statement is the counter's upsert, before anything is read: on SQLite a
transaction that writes first waits for the write lock (busy timeout) instead of failing on a
snapshot that another writer has moved on since."""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import text

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
    the window; the caller rolls back either way, so a refused request counts and writes nothing."""
    if not tokens.well_formed(secret):
        raise Unauthenticated("This token is unknown, expired or revoked.")
    # The count needs no durable commit (a crash may forget a few counts; a window lasts a minute):
    # the database answers the commit without waiting for its log to reach the disk.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(SYNC_OFF)
    elif not db.session().in_transaction():
        db.session.connection(execution_options={RELAXED_COMMIT: True})
    digest = tokens.digest(secret)
    key = f"api:{digest[:40]}"
    limit = current_app.config["API_RATE_LIMIT"]
    if throttle.take(key, window()) > limit:
        row = db.session.get(Throttle, key)
        left = (row.window_start + window() - utcnow()).total_seconds()
        raise RateLimited(
            f"This token may send {limit} requests every {int(window().total_seconds())} seconds.",
            max(1, int(left + 0.999)),
        )
    found = tokens.authenticate(secret)
    if found is None:
        raise Unauthenticated("This token is unknown, expired or revoked.")
    token, owner = found
    tokens.note_use(token, utcnow())
    db.session.expunge(owner)
    return Admitted(token.id, token.scope_set, owner)
