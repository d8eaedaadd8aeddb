"""Password hashing (argon2id, older werkzeug hashes still accepted) and the rules a new password must meet.

New hashes are argon2id with the app's ARGON2_* parameters. Rows written before argon2 hold
werkzeug's scrypt or pbkdf2 hashes: they still verify, and `needs_rehash` says so, so the next
successful sign-in stores an argon2id hash instead (as does a hash made with older parameters).
"""

import functools
import gzip
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from werkzeug.security import check_password_hash

from helpdesk.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt.gz"
COMMON_PASSWORD_MESSAGE = "This password is one of the most commonly used passwords; choose another."
_LEGACY_PREFIXES = ("scrypt:", "pbkdf2:")


class PasswordRejected(ValidationFailed):
    """The password breaks a rule (length, or too common): shown on the password field."""


def _hashers():
    """(hasher, dummy hash): the app's argon2id hasher (its parameters come from the config) and a
    hash of nothing anyone types, made with it once."""
    made = current_app.extensions.get("password_hasher")
    if made is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
        )
        made = hasher, hasher.hash("not-a-real-password, compared against for unknown accounts")
        current_app.extensions["password_hasher"] = made
    return made


def _hasher():
    return _hashers()[0]


def hash_password(password):
    """An argon2id hash of `password` with the app's parameters."""
    return _hasher().hash(password)


def verify_password(password_hash, password):
    """Whether `password` matches `password_hash`: argon2 or a legacy werkzeug hash. A missing or
    malformed hash never matches (and never raises)."""
    if not password_hash or password is None:
        return False
    if password_hash.startswith("$argon2"):
        try:
            return _hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    if password_hash.startswith(_LEGACY_PREFIXES):
        try:
            return check_password_hash(password_hash, password)
        except ValueError:
            return False
    return False


def dummy_verify(password):
    """Spend the time of one verification, so an unknown account answers as slowly as a known one."""
    hasher, dummy_hash = _hashers()
    try:
        hasher.verify(dummy_hash, password or "")
    except VerificationError:
        pass
    return False


def needs_rehash(password_hash):
    """True for a legacy werkzeug hash or an argon2 hash made with other parameters."""
    if not password_hash or not password_hash.startswith("$argon2"):
        return True
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.cache
def common_passwords():
    """The 100,000 most common passwords (README "Accounts and sign-in" says where from), read once."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip())


def is_common(password):
    """Whether the password, or its lower-case form, is on the list."""
    common = common_passwords()
    return password in common or password.lower() in common


def check_password_rules(password, *, email=None, name=None):
    """Refuse a password that is too short, too long, among the most common ones, or the account's
    own e-mail address or name (NIST SP 800-63B: context-specific words)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if is_common(password):
        raise PasswordRejected(COMMON_PASSWORD_MESSAGE)
    own = {(email or "").strip().casefold(), (email or "").strip().casefold().partition("@")[0]}
    own.add(" ".join((name or "").split()).casefold())
    if " ".join(password.split()).casefold() in own - {""}:
        raise PasswordRejected("Choose a password that is not your e-mail address or your name.")
