"""Accounts: registration, authentication with throttling, passwords and session rotation."""

import functools
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk.accounts.models import ROLE_CUSTOMER, LoginFailure, User, new_session_token
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.formfields import parse_id

MIN_PASSWORD_LENGTH = 10
# Compared against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = None


class LoginThrottled(NotAllowed):
    """Too many recent failures for this e-mail or client address."""


def normalise_email(email):
    return (email or "").strip().lower()


def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_rules(password):
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"Use at least {MIN_PASSWORD_LENGTH} characters.")


def find_user_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_customer(email, name, password, timezone="UTC"):
    """Create a customer account. Guarantees: unique e-mail, hashed password, role customer."""
    email = normalise_email(email)
    check_password_rules(password)
    if find_user_by_email(email):
        raise ValidationFailed("An account with this e-mail already exists. Log in instead.")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=ROLE_CUSTOMER,
        timezone=valid_timezone(timezone or "UTC"),
    )
    db.session.add(user)
    db.session.flush()
    return user


def ensure_user(email, name=None):
    """The user with this e-mail, creating a passwordless customer (an invitee) if none exists."""
    user = find_user_by_email(email)
    if user is None:
        email = normalise_email(email)
        user = User(email=email, name=name or email.split("@")[0], role=ROLE_CUSTOMER)
        db.session.add(user)
        db.session.flush()
    return user


def _failure_keys(email, remote_addr):
    return [f"email:{normalise_email(email)}", f"ip:{remote_addr or 'unknown'}"]


def _recent_failures(key):
    window = timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    return db.session.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.key == key, LoginFailure.at >= utcnow() - window
        )
    )


def authenticate(email, password, remote_addr):
    """The active user for these credentials, or None; raises LoginThrottled after repeated failures.

    Unknown e-mail, wrong password and deactivated account look the same to the caller.
    Failures are recorded in the caller's transaction: the view commits them.
    """
    global _DUMMY_HASH
    keys = _failure_keys(email, remote_addr)
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if _recent_failures(keys[0]) >= limit or _recent_failures(keys[1]) >= limit * 4:
        raise LoginThrottled(
            f"Too many failed attempts. Try again in {current_app.config['LOGIN_WINDOW_MINUTES']} minutes."
        )
    user = find_user_by_email(email)
    if user is None or not user.password_hash:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not-a-real-password")
        check_password_hash(_DUMMY_HASH, password)
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password) and user.active
    if not ok:
        for key in keys:
            db.session.add(LoginFailure(key=key))
        db.session.flush()
        return None
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
    return user


def change_password(user, current_password, new_password):
    """Set a new password after checking the current one; ends every other session."""
    if not user.password_hash or not check_password_hash(user.password_hash, current_password):
        raise ValidationFailed("The current password is not correct.")
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    rotate_sessions(user)


def set_password(user, new_password):
    """Set a password without the old one (invitations, admin resets); ends every session."""
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    rotate_sessions(user)


def rotate_sessions(user):
    """Invalidate every session and remember-me cookie issued for this user."""
    user.session_token = new_session_token()
    db.session.flush()


def load_session_user(session_id):
    """Flask-Login loader: the user whose id and session token match, if still active."""
    user_id, _, token = (session_id or "").partition(":")
    if not parse_id(user_id) or not token:
        return None
    user = db.session.get(User, parse_id(user_id))
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
