"""Personal access tokens: made by their owner, shown once, kept as a SHA-256, revocable.

Why SHA-256 and not argon2 (which keeps the passwords): a token's secret is 32 random bytes from
`secrets`, 256 bits that nobody can guess or brute-force from a leaked hash, so a slow hash would
protect nothing and cost every API request tens of milliseconds; a plain digest is looked up by
its unique index in one query, and comparing digests leaks nothing about the secret.
"""

import functools
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from helpdesk import policy
from helpdesk.accounts.auth import signed_in_user_options
from helpdesk.accounts.models import User
from helpdesk.api.models import ApiToken
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db

PREFIX = "hd_"
DOMAINS = ("tickets", "credits", "people", "kb")
SCOPES = tuple(f"{domain}:{level}" for domain in DOMAINS for level in ("read", "write"))
LIFETIMES = (7, 30, 90, 365)  # days a token may live
MAX_ACTIVE_TOKENS = 50


def useful_scopes(user):
    """The scopes that let `user`'s token do something, in SCOPES' order: what the token page
    offers them. People and credit adjustments are admins' only, writing articles is agents'; a
    token never does more than its owner may (policy.py decides every request), so these are what
    is worth asking for, not a limit create_token needs."""
    useless = set()
    if not policy.can_administer(user):
        useless |= {"people:read", "people:write", "credits:write"}
    if not policy.is_agent(user):
        useless.add("kb:write")
    return tuple(scope for scope in SCOPES if scope not in useless)


def digest(secret):
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def create_token(owner, *, name, scopes, days):
    """A new token for `owner`; returns (token, secret). The secret is never stored: only its
    SHA-256. A write scope brings its read scope (writing what one cannot read helps nobody)."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("Give the token a name, to recognise it later.")
    chosen = set(scopes or ())
    if not chosen or not chosen <= set(SCOPES):
        raise ValidationFailed("Choose at least one of the listed scopes.")
    chosen |= {s.replace(":write", ":read") for s in chosen}
    if days not in LIFETIMES:
        raise ValidationFailed("Choose one of the listed lifetimes.")
    if len(active_tokens(owner)) >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed(f"You have {MAX_ACTIVE_TOKENS} active tokens: revoke one first.")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        owner=owner,
        user_id=owner.id,
        name=name[:100],
        token_hash=digest(secret),
        prefix=secret[:10],
        scopes=" ".join(s for s in SCOPES if s in chosen),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def active_tokens(owner):
    now = utcnow()
    return db.session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
        )
    ).all()


def tokens_query(owner):
    """Every token of `owner` (revoked and expired ones too), newest first, to paginate."""
    return select(ApiToken).where(ApiToken.user_id == owner.id).order_by(ApiToken.id.desc())


def revoke(owner, token_id):
    """Revoke one of `owner`'s tokens (at once: its next request answers 401). Idempotent."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != owner.id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token


def revoke_all(user, **_event):
    """Revoke every active token of `user` (events.account_deactivated: a deactivation ends them
    for good, so reactivating the account brings none back). Returns how many."""
    tokens = active_tokens(user)
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
    db.session.flush()
    return len(tokens)


def well_formed(secret):
    return bool(secret) and secret.startswith(PREFIX) and len(secret) <= 200


def authenticate(secret):
    """(token, owner) for this secret if the token is usable (not revoked, not expired, its owner
    active), else None. The owner is read in the same query, as a signed-in user is (with their
    category grants)."""
    if not well_formed(secret):
        return None
    found = db.session.execute(_token_statement(), {"token_hash": digest(secret)}).first()
    if found is None or not usable(*found):
        return None
    return tuple(found)


def usable(token, owner):
    """Not revoked, not expired, its owner active."""
    return token.revoked_at is None and token.expires_at > utcnow() and owner.active


@functools.cache
def _token_statement():
    """A token by its hash with its owner, built once (building it costs more than running it)."""
    return (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
        .options(lazyload(ApiToken.owner), *signed_in_user_options())
    )


@functools.cache
def counted_token_statement():
    """PostgreSQL: _token_statement's row with the token's request counted by `counting(condition)`
    (accounts/throttle.py's take_if_statement: its bind parameters besides token_hash), in one
    statement: the count is a CTE made only when a token has this hash (an unknown token writes
    nothing), and its new count and window start are the row's last two columns."""
    from helpdesk.accounts import throttle  # the API's rate limit's counters

    known = select(ApiToken.id).where(ApiToken.token_hash == bindparam("token_hash")).exists()
    counted = throttle.take_if_statement(known).cte("counted")
    return (
        _token_statement()
        .add_cte(counted)
        .add_columns(
            select(counted.c.count).scalar_subquery().label("counted"),
            select(counted.c.window_start).scalar_subquery().label("window_started"),
        )
    )


def allows(scopes, domain, level):
    return f"{domain}:{level}" in scopes


LAST_USE_PRECISION = timedelta(minutes=1)  # write last use at most once a minute per token


def note_use(token, now):
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        token.last_used_at = now
