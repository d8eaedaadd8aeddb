"""Password reset by e-mail: signed, expiring, single-use links that end every session.

Each link carries the account's `reset_serial`, which moves on whenever a new link is sent and
whenever the password changes: only the newest link works, and only until it is used.
"""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from helpdesk import events
from helpdesk.accounts import auth as accounts
from helpdesk.accounts import throttle
from helpdesk.accounts.models import User
from helpdesk.dbtypes import utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.web import public_url

INVALID_LINK = "This reset link is invalid or has expired. Ask for a new one."
REPLACED_LINK = (
    "This reset link has been replaced by a newer one, or was already used. "
    "Use the link in the newest e-mail, or ask for a new one."
)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_token(user, serial=None):
    return _serializer().dumps({"u": user.id, "s": user.reset_serial if serial is None else serial})


def _url(token):
    return public_url("accounts.reset_password", token=token)


def link_hours():
    """How many hours a reset or set-password link works (PASSWORD_RESET_MAX_AGE, at least 1),
    as the mails and pages that hand one out say."""
    return max(1, current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600)


def set_password_url(user):
    """A new signed, expiring link where `user` chooses a (new) password; links sent before stop working."""
    user.reset_serial += 1
    db.session.flush()
    return _url(make_token(user))


def next_set_password_url(user):
    """The link `user` gets from the next mail that carries one: it works once the mail is queued
    and `link_sent` moves the serial on (so a mail that is not sent kills no link)."""
    return _url(make_token(user, user.reset_serial + 1))


def link_sent(user):
    """The mail carrying next_set_password_url was queued: from now on only that link works."""
    user.reset_serial += 1
    db.session.flush()


def forget_links(user):
    """Every set-password or reset link sent before stops working (the address it went to changed)."""
    user.reset_serial += 1
    db.session.flush()


def ask_for_reset(email):
    """Someone asked for a reset link for `email`: store the request, whether or not an account
    has the address (the mail domain's worker calls request_reset with it). Returns outbox rows.

    Guarantee: the request neither looks the account up nor makes a link, so it does the same work
    (the same statements) for any address, and its answer and its time tell nothing about whether
    the account exists. Making the link, counting the address's mails and queueing the mail (about
    1.1-1.3 ms of CPU, bench/account_timing.py) happen in the worker.
    """
    sent = events.password_reset_asked.send(email=accounts.normalise_email(email))
    return [row for rows in sent for row in rows or ()]


def request_reset(email):
    """Queue a reset link if an active account has this address (the mail domain sends at most 3
    an hour). Returns the outbox row, or None. Called by the mail worker for a stored request
    (ask_for_reset), never by a request: its work depends on whether the account exists.

    Guarantees: the caller learns nothing about whether the account exists; the links sent before
    stop working only when a new one is actually queued (asking often cannot kill a good link).
    """
    user = accounts.find_user_by_email(email)
    if user is None or not user.active:
        return None
    url = _url(make_token(user, user.reset_serial + 1))
    sent = events.password_reset_requested.send(user=user, url=url)
    row = next((row for row in sent if row is not None), None)
    if row is not None:
        user.reset_serial += 1
        db.session.flush()
    return row


def check_token(token):
    """The active user a valid, unexpired, newest token names; ValidationFailed saying why not."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise ValidationFailed(INVALID_LINK) from None
    except BadSignature:
        raise ValidationFailed(INVALID_LINK) from None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or not isinstance(data.get("s"), int):
        raise ValidationFailed(INVALID_LINK)
    if data["s"] != user.reset_serial:
        raise ValidationFailed(REPLACED_LINK)
    return user


def user_for_token(token):
    """The user of a working token, else None."""
    try:
        return check_token(token)
    except ValidationFailed:
        return None


def reset_password(token, new_password, remote_addr=None):
    """Set the password named by a valid token. Guarantees: every session ends, the link dies, the
    address counts as confirmed (the link reached it) and its sign-in failures are forgotten: the
    account's, and those from the client address the link was used at (`remote_addr`), which the
    refusal that advised a reset had blocked. Other addresses' failures stay (an attacker's)."""
    user = check_token(token)
    accounts.set_password(user, new_password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    keys = throttle.login_keys(user.email, remote_addr)
    throttle.clear(keys["acct"], keys["pair"])
    db.session.flush()
    return user
