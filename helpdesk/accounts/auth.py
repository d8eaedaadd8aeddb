"""Accounts: registration, authentication with throttling, passwords and session rotation."""

import functools

from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload, with_expression

from helpdesk.accounts import throttle
from helpdesk.accounts.models import ROLE_CUSTOMER, CategoryPermission, User, new_session_token
from helpdesk.accounts.passwords import (  # noqa: F401  (hash_password: the seed and tests import it here)
    MIN_PASSWORD_LENGTH,
    PasswordRejected,
    check_password_rules,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from helpdesk.dbtypes import utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.formfields import parse_id

LoginThrottled = throttle.Throttled


def normalise_email(email):
    return (email or "").strip().lower()


def find_user_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_customer(email, name, password, timezone="UTC", *, confirmed=True):
    """Create a customer account. Guarantees: unique e-mail, a password that meets the rules,
    argon2id hash, role customer; `confirmed=False` (self-registration) leaves the address to be
    confirmed before the account can sign in or get ticket mail."""
    email = normalise_email(email)
    check_password_rules(password, email=email, name=name)
    if find_user_by_email(email):
        raise ValidationFailed("An account with this e-mail already exists. Log in instead.")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=ROLE_CUSTOMER,
        timezone=valid_timezone(timezone or "UTC"),
        email_confirmed_at=utcnow() if confirmed else None,
    )
    try:
        with db.session.begin_nested():  # a concurrent registration of the address wins: a clear error
            db.session.add(user)
    except IntegrityError as exc:
        raise ValidationFailed("An account with this e-mail already exists. Log in instead.") from exc
    return user


def ensure_user(email, name=None):
    """The user with this e-mail, creating a passwordless customer (an invitee) if none exists."""
    user = find_user_by_email(email)
    if user is None:
        email = normalise_email(email)
        user = User(email=email, name=name or email.split("@")[0], role=ROLE_CUSTOMER)
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:  # made by a concurrent request meanwhile: that one is the user
            user = find_user_by_email(email)
            if user is None:
                raise
    return user


def begin_login(email, remote_addr):
    """Take one sign-in attempt for this e-mail and client address (accounts/throttle.py), or raise
    LoginThrottled. The caller commits it before checking the password, so the count holds
    whatever happens next and is never read twice by concurrent attempts."""
    return throttle.begin_login(normalise_email(email), remote_addr)


def authenticate(email, password, attempt):
    """The active user for these credentials, or None, after `begin_login` took `attempt`.

    Unknown e-mail, wrong password and deactivated account look the same to the caller, and cost
    the same time. A failure keeps the attempt's counts; a success gives them back, and a hash of
    an older kind (werkzeug scrypt/pbkdf2) or older parameters is replaced by an argon2id one.
    An unconfirmed account with the right password is returned too: the caller tells it apart.
    """
    user = find_user_by_email(email)
    if user is None or not user.password_hash:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    attempt.succeeded()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.flush()
    return user


def check_password(user, password):
    """Whether `password` is the user's (re-authentication); no counters here, the caller throttles."""
    return bool(user.password_hash) and verify_password(user.password_hash, password)


def change_password(user, current_password, new_password):
    """Set a new password after checking the current one; ends every other session. Returns False,
    changing nothing, when the current password is wrong.

    The check is throttled with "Confirm it's you" (throttle.begin_identity_check): a session left
    signed in on a shared computer was a way to try passwords without end, and to take the account
    with the one that fits. A wrong password is an answer, not an exception, so the view commits
    its count; a new password the rules refuse rolls back, and the right current password costs
    nothing."""
    key = throttle.begin_identity_check(user.id)
    if not check_password(user, current_password):
        return False
    throttle.clear(key)
    if new_password == current_password:
        raise PasswordRejected("Choose a new password: this one is your current password.")
    check_password_rules(new_password, email=user.email, name=user.name)
    user.password_hash = hash_password(new_password)
    user.reset_serial += 1  # reset links sent before the change stop working
    rotate_sessions(user)
    return True


def set_password(user, new_password):
    """Set a password without the old one (invitations, reset links); ends every session and kills
    every reset link sent before."""
    check_password_rules(new_password, email=user.email, name=user.name)
    user.password_hash = hash_password(new_password)
    user.reset_serial += 1
    rotate_sessions(user)


def rotate_sessions(user):
    """Invalidate every session and remember-me cookie issued for this user."""
    user.session_token = new_session_token()
    db.session.flush()


def signed_in_user_options():
    """Loader options for a user who makes a request: their granted category ids in the same
    query (see policy.permitted_category_ids); the organization is loaded when used."""
    granted = (
        select(func.aggregate_strings(cast(CategoryPermission.category_id, String), ","))
        .where(CategoryPermission.user_id == User.id)
        .scalar_subquery()
    )
    return (
        lazyload(User.organization),
        with_expression(User.granted_category_csv, func.coalesce(granted, "")),
    )


@functools.cache
def _session_user_statement():
    """The signed-in user with their granted category ids, in one query (built once: building an
    ORM statement costs more than running this one)."""
    return select(User).where(User.id == bindparam("user_id")).options(*signed_in_user_options())


def load_session_user(session_id):
    """Flask-Login loader: the user whose id and session token match, if still active (one query,
    their category grants included: see policy.permitted_category_ids)."""
    user_id, _, token = (session_id or "").partition(":")
    if not parse_id(user_id) or not token:
        return None
    user = db.session.execute(_session_user_statement(), {"user_id": parse_id(user_id)}).scalar()
    if user is None or user.session_token != token or not user.active:
        return None
    return user


@functools.cache
def known_timezones():
    """The IANA zone names of this machine's tz database, read once (reading it takes ~12 ms)."""
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def valid_timezone(name):
    """The IANA zone name if known, else "UTC" (a bad value from a browser never breaks a page)."""
    return name if name in known_timezones() else "UTC"


def update_profile(user, *, name, timezone):
    """Change display name and time zone; the zone must be a known IANA name."""
    if timezone not in known_timezones():
        raise ValidationFailed("Choose a time zone from the list.")
    user.name = name.strip()
    user.timezone = timezone
    db.session.flush()
