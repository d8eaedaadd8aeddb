"""Webhook signatures, as Stripe signs its own: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Helpdesk-Signature"
EVENT_ID_HEADER = "Helpdesk-Event-Id"
EVENT_TYPE_HEADER = "Helpdesk-Event-Type"
SECRET_PREFIX = "whsec_"


def new_secret():
    """A fresh signing secret: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_event_id():
    """A unique event id (also the Helpdesk-Event-Id header): receivers de-duplicate on it."""
    return "evt_" + secrets.token_hex(16)


def signature_header(secret, body, timestamp=None):
    """The Helpdesk-Signature value for `body` (bytes) signed now (or at `timestamp`)."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret, body, header, tolerance=300, now=None):
    """Whether `header` signs `body` with `secret` within `tolerance` seconds: the README's snippet
    does the same, for receivers."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))
