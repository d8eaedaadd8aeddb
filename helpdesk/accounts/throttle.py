"""Throttling that holds across workers and servers: counters kept in the database, each moved by one
atomic upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, on SQLite and PostgreSQL alike).

An attempt first *takes* a count on each of its keys and reads back the new values; it goes ahead
only if they are within their limits. Two requests at once never see the same count (the upsert
locks the row until the transaction ends), so with a limit of five, exactly five attempts get
through however many arrive together. A refused attempt raises: the caller's transaction rolls
back and the counts it took are returned with it. A successful sign-in gives its count back.

Sign-in keys, in one window of LOGIN_FAILURE_WINDOW_MINUTES from the first failure:
- `pair:<email>|<address>`: LOGIN_MAX_FAILURES for one account from one client address;
- `addr:<address>`: LOGIN_MAX_FAILURES_ADDRESS over all accounts from one address;
- `acct:<email>`: LOGIN_MAX_FAILURES_ACCOUNT from anywhere. Past it, only addresses without a
  failure of their own on that account may still try, so an attacker hammering from some
  addresses never locks the owner out at another (each fresh address gets one try).
"""

import functools
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, case, delete, func, literal, select, true, update

from helpdesk.accounts.models import Throttle, User
from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db
from helpdesk.querying import upsert_insert

PRUNE_BATCH = 200  # expired counters deleted when a new window starts
LONGEST_WINDOW = timedelta(days=1)


class Throttled(NotAllowed):
    """Too many attempts: wait for the window to pass."""


def take(key, window, relaxed=False):
    """Add one to `key`'s count in its current window (a new window when the last one is over)
    and return the new count. Atomic: concurrent callers get distinct counts. `relaxed` (for a
    count run as its own autocommitted statement, the API's rate limit): on PostgreSQL the
    statement itself turns `synchronous_commit` off for its transaction, so its commit does not
    wait for the log to reach the disk (a crash may forget a few counts)."""
    now = utcnow()
    statement = _take_statement(db.session.get_bind().dialect.name, relaxed)
    count = db.session.execute(statement, take_values(key, window, now)).scalar_one()
    if count == 1:  # a new window began
        prune_expired(now)
    return count


def take_values(key, window, now):
    """The bind parameters of take's statement (and of take_if_statement's)."""
    return {"throttle_key": key, "now": now, "expired_before": now - window}


@functools.cache
def _take_statement(dialect, relaxed=False):
    """take's upsert for `dialect`, built once (building it cost ten times what running it does):
    its values are the bind parameters throttle_key, now and expired_before. Relaxed on
    PostgreSQL, the row inserted is selected from `set_config('synchronous_commit', 'off', true)`
    (SET LOCAL as a function), so the setting is made by the statement that commits."""
    table = Throttle.__table__
    insert = upsert_insert(dialect)(table)
    if relaxed and dialect == "postgresql":
        insert = insert.from_select(["key", "window_start", "count"], _relaxed_row())
    else:
        insert = insert.values(key=bindparam("throttle_key"), window_start=_NOW, count=1)
    return _counting(insert).returning(table.c.count)


_NOW = bindparam("now", type_=UTCDateTime)


def _relaxed_row():
    """PostgreSQL: the row an upsert inserts, selected from `set_config('synchronous_commit', 'off',
    true)` (SET LOCAL as a function), so the setting is made by the statement that commits."""
    setting = select(func.set_config("synchronous_commit", "off", true()).label("relaxed")).subquery()
    return select(bindparam("throttle_key"), _NOW, literal(1)).select_from(setting)


def _counting(insert):
    """`insert` of a throttle row made an upsert: one more in the current window, or a new window."""
    table = Throttle.__table__
    expired = table.c.window_start <= bindparam("expired_before", type_=UTCDateTime)
    return insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((expired, 1), else_=table.c.count + 1),
            "window_start": case((expired, _NOW), else_=table.c.window_start),
        },
    )


def take_if_statement(condition):
    """PostgreSQL: take's relaxed upsert (the same bind parameters, take_values), made only where
    `condition` holds, returning the new count and its window's start; for a CTE of a statement
    that reads what the count is for (the API's token and its request count: one round trip)."""
    table = Throttle.__table__
    row = _relaxed_row().where(condition)
    insert = upsert_insert("postgresql")(table).from_select(["key", "window_start", "count"], row)
    return _counting(insert).returning(table.c.count, table.c.window_start)


def give_back(key):
    """Return one count taken on `key` (an attempt that turned out fine)."""
    db.session.execute(
        update(Throttle).where(Throttle.key == key, Throttle.count > 0).values(count=Throttle.count - 1)
    )


def clear(*keys):
    """Forget these counters (a successful sign-in clears its account-and-address pair)."""
    db.session.execute(delete(Throttle).where(Throttle.key.in_(keys)))


def count(key, window):
    """The current count of `key` in its window (0 when none or over); a read, for display and tests."""
    row = db.session.get(Throttle, key, populate_existing=True)
    if row is None or row.window_start <= utcnow() - window:
        return 0
    return row.count


def prune_expired(now):
    """Delete counters whose window ended a day ago, a batch at a time. Rows another transaction
    holds are skipped (SKIP LOCKED on PostgreSQL), so pruning never waits and never deadlocks."""
    stale = (
        select(Throttle.key)
        .where(Throttle.window_start < now - LONGEST_WINDOW)
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    db.session.execute(delete(Throttle).where(Throttle.key.in_(stale)))


# --- sign-in --------------------------------------------------------------------------------


def _window():
    return timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])


def login_keys(email, address):
    """The three keys of a sign-in. An address longer than any account's (the form allows 320
    characters, but lowering can lengthen them: "İ" becomes two) is named by its SHA-256, so the
    keys fit their column (PostgreSQL refused a longer one: a 500). It can be no account's address;
    its attempts count as any others do, on the pair and on the client's address."""
    if len(email) > User.email.type.length:
        email = "sha256:" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()
    address = address or "unknown"
    return {"pair": f"pair:{email}|{address}", "addr": f"addr:{address}", "acct": f"acct:{email}"}


@dataclass(frozen=True)
class LoginAttempt:
    """The counts one sign-in attempt took, to give back or clear when it succeeds."""

    keys: dict

    def succeeded(self):
        """The password was right: clear this pair, give back the account's and address's count."""
        clear(self.keys["pair"])
        give_back(self.keys["acct"])
        give_back(self.keys["addr"])


def begin_login(email, address):
    """Take one attempt for (email, address), or raise Throttled (the caller rolls back, so a
    refused attempt counts nothing). Keys are taken in sorted order, so two attempts never wait
    for each other's rows round a loop."""
    config = current_app.config
    keys = login_keys(email, address)
    counts = {kind: take(key, _window()) for kind, key in sorted(keys.items(), key=lambda item: item[1])}
    over_pair = counts["pair"] > config["LOGIN_MAX_FAILURES"]
    over_addr = counts["addr"] > config["LOGIN_MAX_FAILURES_ADDRESS"]
    # Past the account's limit only addresses that have not failed on it yet may try.
    over_acct = counts["acct"] > config["LOGIN_MAX_FAILURES_ACCOUNT"] and counts["pair"] > 1
    if over_pair or over_addr or over_acct:
        raise Throttled(
            f"Too many failed attempts. Try again in {config['LOGIN_FAILURE_WINDOW_MINUTES']} minutes, "
            "or reset your password."
        )
    return LoginAttempt(keys)


def attempt(key, limit, window, message):
    """Take one count on `key`, or raise Throttled with `message` past `limit` in `window`."""
    if take(key, window) > limit:
        raise Throttled(message)


def begin_identity_check(user_id):
    """Take one attempt at proving a signed-in user is who they are ("Confirm it's you", the code
    step of signing in, the current password of a password change: one counter for them all), or
    raise Throttled past LOGIN_MAX_FAILURES in the window. Returns the key, for `clear` when the
    attempt succeeds; a failure keeps its count only if its transaction is committed."""
    minutes = current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
    key = f"verify:{user_id}"
    message = f"Too many failed attempts. Try again in {minutes} minutes."
    attempt(key, current_app.config["LOGIN_MAX_FAILURES"], _window(), message)
    return key
