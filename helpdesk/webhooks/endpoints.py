"""Webhook endpoints: register, change, rotate the secret, enable, disable, delete; redeliver.

Services only flush (the view commits). Every change is written to the admin audit trail, never
with the secret in it. Every change also moves `updated_at`, the version an edit form carries:
a save from a form opened before someone else's change is refused (EndpointStale).
"""

import hashlib
import unicodedata
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, or_, select

from helpdesk import staleness
from helpdesk.accounts import audit
from helpdesk.accounts.models import AuditEvent
from helpdesk.dbtypes import utcnow
from helpdesk.errors import StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import add_unless_twin, lock_row
from helpdesk.webhooks.models import (
    DELIVERY_QUEUED,
    EVENT_TYPES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from helpdesk.webhooks.signing import new_secret
from helpdesk.webhooks.transport import address_problem, literal_ip, wire_url

URL_MAX = 2000


class BadEndpoint(ValidationFailed):
    """A refused value, naming the form field it belongs to ("url" or "events")."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def check_url(raw):
    """The URL, trimmed, when webhooks may be sent to it; ValidationFailed says why not.

    https only (http too with WEBHOOK_ALLOW_HTTP); no user name or password in it (it would be
    shown in the log); a literal address or a local name must be public unless
    WEBHOOK_ALLOW_PRIVATE is set. Names are resolved, and every address checked, at each delivery.
    Non-ASCII is kept as typed (readable on the pages) and encoded at each delivery
    (transport.wire_url): the host in IDNA, the path and query percent-encoded; a host IDNA
    cannot encode and control characters are refused.
    """
    config = current_app.config
    url = (raw or "").strip()
    if not url:
        raise BadEndpoint("url", "Enter the URL that should receive the events.")
    if len(url) > URL_MAX:
        raise BadEndpoint("url", f"The URL is too long (at most {URL_MAX} characters).")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "https://[::1" (an unclosed bracket)
        raise BadEndpoint("url", "That is not a URL: check the host name and its brackets.") from None
    schemes = ("https", "http") if config["WEBHOOK_ALLOW_HTTP"] else ("https",)
    if parts.scheme not in schemes:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise BadEndpoint(
            "url", f"The URL must start with {allowed} (for example https://example.com/hooks)."
        )
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise BadEndpoint("url", "The URL's port must be a number from 1 to 65535.") from None
    if not host:
        raise BadEndpoint("url", "The URL needs a host name, as in https://example.com/hooks.")
    if parts.username or parts.password:
        raise BadEndpoint(
            "url", "Leave the user name and password out of the URL: each delivery is signed instead."
        )
    if parts.fragment:
        raise BadEndpoint("url", "Leave the #fragment out of the URL: it is never sent.")
    if any(ch.isspace() for ch in url):
        raise BadEndpoint("url", "The URL may not contain spaces.")
    if any(unicodedata.category(ch) == "Cc" for ch in url):
        raise BadEndpoint("url", "The URL may not contain control characters.")
    try:  # what each delivery requests: IDNA host (fullwidth "１２７.０.０.１" is 127.0.0.1), ...
        host = urlsplit(wire_url(url)).hostname
    except UnicodeError:
        raise BadEndpoint(
            "url", f"{host} is not a valid host name: check its dots and the length of each part."
        ) from None
    if not config["WEBHOOK_ALLOW_PRIVATE"]:
        ip = literal_ip(host)
        problem = address_problem(ip) if ip is not None else None
        if host.lower().rstrip(".") in LOCAL_NAMES or host.lower().endswith(".localhost"):
            problem = f"{host} is this machine"
        if problem:
            raise BadEndpoint(
                "url",
                f"Webhooks are not sent to private or local addresses: {problem}. Use a public address.",
            )
    return url


def requested_url(endpoint):
    """The URL each delivery requests (non-ASCII encoded, see check_url), or None when it cannot be
    encoded (an endpoint stored before the form checked it: its attempts fail, saying why)."""
    try:
        return wire_url(endpoint.url)
    except ValueError:
        return None


def check_events(chosen):
    """The chosen event names, known ones only, in the page's order; at least one."""
    chosen = [name for name in EVENT_TYPES if name in set(chosen or ())]
    if not chosen:
        raise BadEndpoint("events", "Choose at least one event to send.")
    return chosen


def create_endpoint(actor, *, url, events, description="", internal_notes=False, submission_key=None):
    """A new, enabled endpoint with a fresh secret; only events after this moment are sent to it.
    Returns (endpoint, created).

    With the form's `submission_key`, one form adds one endpoint: sent again with the same URL,
    events, description and choice (a double click, back and resubmit) it returns the endpoint it
    added, created False, even when a copy sent at the same moment added it. The same key with
    other values is another endpoint (a kept copy of the page, changed), as with time entries."""
    url, events = check_url(url), check_events(events)
    description = (description or "").strip()[:200]
    key = _endpoint_key(url, events, description, bool(internal_notes), submission_key)
    existing = _added_with(actor, key)
    if existing is not None:
        return existing, False
    endpoint = WebhookEndpoint(
        url=url,
        events=events,
        description=description,
        internal_notes=bool(internal_notes),
        secret=new_secret(),
        enabled=True,
        created_by_id=actor.id if actor else None,
        submission_key=key,
    )
    endpoint, created = add_unless_twin(endpoint, lambda: _added_with(actor, key))
    if not created:
        return endpoint, False
    audit.record(actor, "webhook", new=f"endpoint #{endpoint.id} added: {endpoint.url}")
    return endpoint, True


def _endpoint_key(url, events, description, internal_notes, submission_key):
    """The key an endpoint keeps: a digest of the form's key and what it added (None without a key)."""
    if not submission_key:
        return None
    content = "\0".join([submission_key, url, ",".join(events), description, str(internal_notes)])
    return hashlib.sha256(content.encode()).hexdigest()  # 64 characters: the column's size


def _added_with(actor, key):
    if key is None or actor is None:
        return None
    return db.session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.created_by_id == actor.id, WebhookEndpoint.submission_key == key
        )
    )


class EndpointStale(StaleUpdate):
    """The endpoint was changed (edited, its secret rotated, enabled or disabled) after the form
    was opened: nothing was saved. `endpoint` is as stored now."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        super().__init__("This endpoint was changed after you opened the page: nothing was saved.")


def version_of(endpoint):
    """What the edit form carries of the endpoint it shows: its last change's time."""
    return staleness.time_version(endpoint.updated_at)


# What a stale form's refusal calls the latest change, from its audit entry's words.
_CHANGES = {
    " changed:": "settings saved",
    ": secret rotated": "secret rotated",
    " enabled": "enabled",
    " disabled": "disabled",
}


def last_change(endpoint):
    """(the audit entry of the endpoint's latest change or None, what that change was in a few
    words). No entry when the worker disabled it after failures: `disabled_reason` says so then.
    The entry is written after `updated_at` is set, in the same transaction."""
    about = or_(
        AuditEvent.new_value.startswith(f"endpoint #{endpoint.id} ", autoescape=True),
        AuditEvent.new_value.startswith(f"endpoint #{endpoint.id}:", autoescape=True),
    )
    query = select(AuditEvent).where(
        AuditEvent.kind == "webhook", AuditEvent.created_at >= endpoint.updated_at, about
    )
    change = db.session.scalar(query.order_by(AuditEvent.id.desc()).limit(1))
    if change is None:
        return None, ("" if endpoint.enabled else endpoint.disabled_reason or "disabled")
    rest = (change.new_value or "").removeprefix(f"endpoint #{endpoint.id}")
    return change, next((words for start, words in _CHANGES.items() if rest.startswith(start)), "")


def update_endpoint(endpoint, actor, *, url, events, description="", internal_notes=False, seen=None):
    """Change the URL, events, description or internal-note choice (the secret stays).
    `seen`: version_of the endpoint the form showed (EndpointStale, nothing saved, when it changed
    since; None: not checked). The row is locked until commit, so two saves take turns."""
    lock_row(endpoint)
    if seen is not None and seen != version_of(endpoint):
        raise EndpointStale(endpoint)
    old = endpoint.url
    endpoint.url = check_url(url)
    endpoint.events = check_events(events)
    endpoint.description = (description or "").strip()[:200]
    endpoint.internal_notes = bool(internal_notes)
    endpoint.updated_at = utcnow()
    db.session.flush()
    audit.record(actor, "webhook", old=old, new=f"endpoint #{endpoint.id} changed: {endpoint.url}")
    return endpoint


def rotate_secret(endpoint, actor):
    """Replace the signing secret at once: deliveries from now on are signed with the new one."""
    endpoint.secret = new_secret()
    endpoint.secret_rotated_at = endpoint.updated_at = utcnow()
    db.session.flush()
    audit.record(actor, "webhook", new=f"endpoint #{endpoint.id}: secret rotated")
    return endpoint


def set_enabled(endpoint, actor, enabled):
    """Enable or disable; enabling forgets past failures (the day of failures counts anew) and
    sends what was waiting. True if it changed."""
    if endpoint.enabled == enabled:
        return False
    endpoint.enabled = enabled
    endpoint.updated_at = utcnow()
    if enabled:
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    else:
        endpoint.disabled_reason = f"Disabled by {actor.name}." if actor else "Disabled."
    db.session.flush()
    audit.record(actor, "webhook", new=f"endpoint #{endpoint.id} {'enabled' if enabled else 'disabled'}")
    return True


def delete_endpoint(endpoint, actor):
    """Delete the endpoint with its deliveries and their log."""
    audit.record(actor, "webhook", old=f"endpoint #{endpoint.id} deleted: {endpoint.url}")
    db.session.execute(db.delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id))
    db.session.execute(db.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.flush()


def redeliver(delivery, actor):
    """Queue the same event (same id, same body) again for the worker, due now, with a fresh set of
    attempts. Refused while the endpoint is disabled."""
    if not delivery.endpoint.enabled:
        raise ValidationFailed("Enable the endpoint first: a disabled endpoint receives nothing.")
    delivery.status = DELIVERY_QUEUED
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    db.session.flush()
    return delivery


def endpoints_query():
    return select(WebhookEndpoint).order_by(WebhookEndpoint.id)


def attempts_query(endpoint):
    """The endpoint's delivery log, newest attempt first."""
    return (
        select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc())
    )


def waiting(endpoint):
    """Deliveries of the endpoint waiting for the worker (never tried, or to be retried)."""
    return db.session.scalar(
        select(func.count(WebhookDelivery.id)).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DELIVERY_QUEUED
        )
    )


def delivery_of(endpoint, delivery_id):
    """The endpoint's delivery with this id, or None (another endpoint's is None too)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    return delivery if delivery is not None and delivery.endpoint_id == endpoint.id else None
