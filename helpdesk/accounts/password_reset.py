"""Password reset by e-mail: signed, expiring, single-use links that end every session."""

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from helpdesk import events
from helpdesk.accounts import auth as accounts
from helpdesk.accounts.models import User
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.web import public_url

INVALID_LINK = "This reset link is invalid or has expired. Ask for a new one."


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _fingerprint(user):
    """Changes whenever the password or the sessions change, so a used link stops working."""
    return hashlib.sha256(f"{user.session_token}:{user.password_hash or ''}".encode()).hexdigest()[:20]


def make_token(user):
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def set_password_url(user):
    """The signed, expiring link where `user` chooses a (new) password."""
    return public_url("accounts.reset_password", token=make_token(user))


def request_reset(email):
    """Queue a reset link if an active account has this address (the mail domain sends at most 3
    an hour). Returns the outbox row, or None.

    Guarantees: the caller learns nothing about whether the account exists.
    """
    user = accounts.find_user_by_email(email)
    if user is None or not user.active:
        return None
    sent = events.password_reset_requested.send(user=user, url=set_password_url(user))
    return next((row for row in sent if row is not None), None)


def user_for_token(token):
    """The active user a valid, unexpired, unused token names; else None."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user


def reset_password(token, new_password):
    """Set the password named by a valid token. Guarantees: every session ends, the link dies."""
    user = user_for_token(token)
    if user is None:
        raise ValidationFailed(INVALID_LINK)
    accounts.set_password(user, new_password)
    return user
