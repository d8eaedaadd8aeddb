"""Idempotency-Key on every create, built on the submission keys the portal's forms use.

A create sent with a key first claims the key here (a twin sent at the same moment waits for it,
then gets its answer), passes the domain service a submission key made from it (the mechanism
that makes a resent portal form give back its first ticket or message), and keeps its answer in
the same transaction. A retry with the same key and
the same body gets that answer again; the same key with another body is refused (422), so a
client's bug never silently returns an unrelated object.
"""

import hashlib
import json
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from helpdesk.api.models import IdempotentRequest
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

MAX_KEY_LENGTH = 255


def valid_key(key):
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()


def key_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def submission_key(user, key):
    """The submission key a create by `user` with this Idempotency-Key hands the domain service
    (64 characters, the columns' size; prefixed so it never equals a portal form's random key).
    Scoped to the key's owner, as the kept answers are: another user's same key (an agent's for
    the same customer, the customer's own) is another request, never a twin of this one."""
    return hashlib.sha256(f"api\0{user.id}\0{key}".encode()).hexdigest()


def fingerprint(method, path, payload, files=()):
    """A digest of what was asked: method, path, the body's fields and each file's name and bytes."""
    content = hashlib.sha256()
    content.update(f"{method} {path}\0".encode())
    content.update(json.dumps(payload, sort_keys=True, default=str).encode())
    for name, data in files:
        content.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(data).digest())
    return content.hexdigest()


def find(user, key):
    return db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == user.id, IdempotentRequest.key_hash == key_hash(key)
        )
    )


def claim(user, key, request_hash):
    """Take (user, key) for this request before its create runs, or return the row a twin took
    and committed first (then the caller answers with it). On PostgreSQL a twin still running
    makes this insert wait on the unique index until the twin commits (its row, complete, is
    returned) or rolls back (the key is ours): so requests with one key run one at a time, and
    a domain service never sees two at once. SQLite serialises writers anyway."""
    row = IdempotentRequest(
        user_id=user.id, key_hash=key_hash(key), request_hash=request_hash, status=0, body=""
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return None, find(user, key)
    return row, None


def fill(row, status, body, location=None):
    """The answer to keep for the key (the same transaction as what the create made)."""
    row.status, row.body, row.location = status, body, location
    db.session.flush()


def prune(hours, now=None):
    """Delete the answers kept for keys used more than `hours` ago; returns how many. A retry
    after that is a new request (a ticket or message still finds its twin by the submission key
    made from the same Idempotency-Key; other creates make a new object)."""
    cutoff = (now or utcnow()) - timedelta(hours=hours)
    deleted = db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff))
    db.session.flush()
    return deleted.rowcount
