"""Two-factor sign-in: TOTP codes (RFC 6238, pyotp) from an authenticator app, and recovery codes.

- The secret is chosen on the set-up page and saved only once a code made from it is accepted.
- A code is accepted once: the time step it belongs to is stored and no code of that step or an
  earlier one is accepted again (a code seen over someone's shoulder is worth nothing).
- Ten recovery codes are shown once when two factors are turned on (or the codes are made anew);
  only their SHA-256 is stored (each is 80 random bits, so no slow hash is needed) and each
  works once, even when two requests present it at the same moment.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata

import pyotp
import segno
from sqlalchemy import delete, or_, update

from helpdesk.accounts.models import RecoveryCode, User
from helpdesk.dbtypes import utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db

ISSUER = "Help desk"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, none that look alike
_SECRET = re.compile(r"^[A-Z2-7]{26,64}$")  # base32, at least 128 bits (pyotp wants 112 or more)
BAD_SECRET = "The set-up key is not valid. Reload the page to get a new one."
BAD_CODE = "That code is not right. Enter the 6-digit code your app shows now."


def new_secret():
    """A fresh random base32 secret (160 bits)."""
    return pyotp.random_base32()


def clean_secret(secret):
    """The secret in canonical form (upper case, no spaces), or ValidationFailed if it is not base32."""
    secret = re.sub(r"\s+", "", secret or "").upper()
    if not _SECRET.match(secret):
        raise ValidationFailed(BAD_SECRET)
    try:
        base64.b32decode(secret + "=" * (-len(secret) % 8))
    except (binascii.Error, ValueError):
        raise ValidationFailed(BAD_SECRET) from None
    return secret


def provisioning_uri(user, secret):
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri):
    """The QR code of `uri` as an inline <svg> element (drawn on the server, no image files)."""
    return segno.make(uri, error="m").svg_inline(scale=5, title="QR code for your authenticator app")


def _digits(code):
    """The six digits of a code in ASCII, or None. Decimal digits of any script are read as theirs
    (a Japanese keyboard types "１２３４５６", an Arabic one "١٢٣٤٥٦": the code the app shows), and
    only ASCII reaches hmac.compare_digest, which raises TypeError on other text. "²" is a digit
    to str.isdigit() but no decimal one: not a code."""
    code = re.sub(r"[\s-]+", "", code or "")
    if len(code) != 6 or not code.isdecimal():
        return None
    return "".join(str(unicodedata.decimal(digit)) for digit in code)


def _matching_step(secret, code, last_step):
    """The time step (now, or one either side for clock drift) whose code is `code` and that is
    later than `last_step`; else None."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enable(user, secret, code):
    """Turn two factors on with `secret` once `code` proves the app has it. Returns the recovery
    codes, to be shown once. Guarantees: a bad secret or code changes nothing (ValidationFailed)."""
    secret = clean_secret(secret)
    code = _digits(code)
    step = _matching_step(secret, code, None) if code else None
    if step is None:
        raise ValidationFailed(BAD_CODE)
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    return regenerate_recovery_codes(user)


def disable(user):
    """Turn two factors off: secret, last step and every recovery code are forgotten."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()


def verify_code(user, code):
    """Whether `code` is a current TOTP code of the user's not used before. Accepting it records
    its step with a conditional UPDATE, so of two requests with the same code only one wins."""
    code = _digits(code)
    if not code or not user.two_factor_enabled:
        return False
    step = _matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    won = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(user, ["totp_last_step"])
    return won == 1


def _normalise_recovery(code):
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())


def _hash(code):
    return hashlib.sha256(_normalise_recovery(code).encode()).hexdigest()


def _new_recovery_code():
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def regenerate_recovery_codes(user):
    """Replace the user's recovery codes with RECOVERY_CODES new ones; returns them (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    db.session.flush()
    return codes


def use_recovery_code(user, code):
    """Whether `code` is one of the user's unused recovery codes; marks it used (once, atomically)."""
    if len(_normalise_recovery(code)) != 16 or not user.two_factor_enabled:
        return False
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return used == 1


def remaining_recovery_codes(user):
    """How many unused recovery codes the user has left."""
    return db.session.scalar(
        db.select(db.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


def verify_second_factor(user, code):
    """A TOTP code or, failing that, a recovery code: whether either is accepted."""
    return verify_code(user, code) or use_recovery_code(user, code)
