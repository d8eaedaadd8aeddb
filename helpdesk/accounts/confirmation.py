"""Self-registration with a confirmed address: signed, expiring confirmation links; a registration
for an address that already has an account reveals nothing and tells the owner instead.

An account registered by its owner stays unconfirmed (`email_confirmed_at` None: no sign-in, no
ticket mail) until the link mailed to the address is opened and confirmed. Accounts made any other
way (admins, `flask create-user`, invitations, mail, the demo) are confirmed when created, and a
password set through a reset link confirms the address too (the link proved it).
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from helpdesk import events
from helpdesk.accounts import auth, throttle
from helpdesk.accounts.models import User
from helpdesk.accounts.passwords import check_password_rules, dummy_verify
from helpdesk.dbtypes import utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db

NOTICES_PER_HOUR = 3  # confirmation links or "someone tried to register" mails one address gets
EXPIRED = "This confirmation link has expired. Ask for a new one below."
INVALID = "This confirmation link is not valid. Ask for a new one below."


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="address-confirmation")


def make_token(user):
    """A signed link token naming the account and the address it confirms."""
    return _serializer().dumps({"u": user.id, "e": user.email})


@dataclass(frozen=True)
class Registration:
    """What a registration came to: a new unconfirmed account, or the existing account of that address."""

    user: User
    created: bool


def register(email, name, password, timezone="UTC"):
    """Register a customer who must confirm the address. Guarantees: the password rules apply
    whether or not the address is taken, and both paths cost one password hash, so neither the
    answer nor its timing tells whether an account exists; an existing account is left unchanged
    (the caller mails its owner instead)."""
    check_password_rules(password, email=email, name=name)
    existing = auth.find_user_by_email(email)
    if existing is not None:
        dummy_verify(password)
        return Registration(existing, created=False)
    user = auth.register_customer(email, name, password, timezone=timezone, confirmed=False)
    return Registration(user, created=True)


def user_for_token(token):
    """The account a valid, unexpired link names (its address unchanged); ValidationFailed otherwise."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["CONFIRM_MAX_AGE_HOURS"] * 3600)
    except SignatureExpired:
        raise ValidationFailed(EXPIRED) from None
    except BadSignature:
        raise ValidationFailed(INVALID) from None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or user.email != data.get("e"):
        raise ValidationFailed(INVALID)
    return user


def confirm(token):
    """Confirm the address a link names (again is fine: nothing changes). Returns the user."""
    user = user_for_token(token)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        db.session.flush()
    return user


def ask_for_link(email):
    """Someone asked for a new confirmation link for `email` (/register/resend): store the request,
    whether or not an account awaits confirmation there (the mail domain's worker decides, with
    awaiting_confirmation and take_notice). Returns outbox rows.

    Guarantee: the request does not look the account up, so it does the same work (the same
    statements) for any address: neither its answer nor its time tells whether an account waits.
    """
    sent = events.confirmation_link_asked.send(email=auth.normalise_email(email))
    return [row for rows in sent for row in rows or ()]


def take_notice(user):
    """Count one more mail to `user`'s address about registering (a confirmation link sent again,
    "someone tried to register"): True while the address is within NOTICES_PER_HOUR an hour."""
    return throttle.take(f"notice:{user.email}", timedelta(hours=1)) <= NOTICES_PER_HOUR


def awaiting_confirmation(email):
    """The active, unconfirmed account of this address, if any (to send a new link to)."""
    user = auth.find_user_by_email(email)
    return user if user is not None and user.active and not user.email_confirmed else None
