"""Webhook delivery by the worker (`flask worker`, beside the mail): claim due deliveries, POST
them signed, log each attempt, retry with backoff, disable an endpoint that failed for a day.

Like the mail outbox, this is the worker's unit of work, so it commits: the claim, and each
outcome, in short transactions of their own; no transaction is open while waiting for a receiver.
"""

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from helpdesk.accounts.users import active_admins
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import notify
from helpdesk.web import public_url
from helpdesk.webhooks import transport
from helpdesk.webhooks.models import (
    DELIVERY_DELIVERED,
    DELIVERY_FAILED,
    DELIVERY_QUEUED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from helpdesk.webhooks.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signature_header

log = logging.getLogger("helpdesk.webhooks")


def backoff(attempts):
    """Delay before the next try after `attempts` failures: 1, 2, 4, ... units, capped."""
    cfg = current_app.config
    seconds = cfg["WEBHOOK_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, cfg["WEBHOOK_BACKOFF_MAX_SECONDS"]))


def lease(count):
    """How long a claim holds `count` deliveries: the batch's worst case, each attempt taking the
    whole WEBHOOK_TIMEOUT_SECONDS one after the other, then WEBHOOK_LEASE_SECONDS more (the name
    lookup and the outcome's commit beside each attempt's clock, and the wait before a dead
    worker's deliveries go again). A fixed WEBHOOK_LEASE_SECONDS alone (120 s) ended while a batch
    of 20 slow receivers (20 x 5 s, plus their lookups and commits) was still being sent, and a
    second worker claimed and sent the rest again."""
    cfg = current_app.config
    return timedelta(seconds=count * cfg["WEBHOOK_TIMEOUT_SECONDS"] + cfg["WEBHOOK_LEASE_SECONDS"])


def claim_due(now=None, limit=None):
    """Claim due deliveries of enabled endpoints and commit the claim; returns what to send.

    Guarantees: two workers never claim the same row (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite
    serialises writers at BEGIN IMMEDIATE); a claim counts an attempt and moves next_attempt_at
    past the batch's `lease`, so a delivery whose worker died is tried again later, with the same
    event id. Each row comes with its attempt number, the claim `renew` checks before sending.
    """
    now = now or utcnow()
    cfg = current_app.config
    query = (
        select(WebhookDelivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DELIVERY_QUEUED,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit or cfg["WEBHOOK_WORKER_BATCH"])
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    rows = db.session.scalars(query).all()
    claimed = []
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease(len(rows))
        endpoint = row.endpoint
        claimed.append(
            (row.id, row.attempts, endpoint.url, endpoint.secret, row.body, row.event_id, row.event_type)
        )
    db.session.commit()
    return claimed


def renew(delivery_id, attempt, now):
    """Just before a claimed delivery is sent: hold it for this one attempt (`lease(1)` from now)
    if the claim is still this worker's, and say so. It is not when the batch outlasted its lease
    and another worker claimed the delivery since (its attempt number moved on), or it was
    delivered, failed or deleted meanwhile: that worker sends it, this one must not send it again."""
    held = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempts == attempt,
            WebhookDelivery.status == DELIVERY_QUEUED,
        )
        .values(next_attempt_at=now + lease(1))
    ).rowcount
    db.session.commit()
    return held == 1


def send(url, secret, body, event_id, event_type):
    """One signed POST of a delivery's body; the transport's Answer."""
    cfg = current_app.config
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event_type,
        SIGNATURE_HEADER: signature_header(secret, raw),
    }
    return transport.post(
        url,
        raw,
        headers,
        timeout=cfg["WEBHOOK_TIMEOUT_SECONDS"],
        allow_private=cfg["WEBHOOK_ALLOW_PRIVATE"],
    )


def _send_guarded(url, secret, body, event_id, event_type):
    """send(), whose unexpected error is this attempt's failure (logged, and recorded in the
    endpoint's delivery log like any other) rather than the end of the round: the deliveries
    claimed with it would otherwise wait, unsent, for as long as the round kept failing."""
    started = time.monotonic()
    try:
        return send(url, secret, body, event_id, event_type)
    except Exception as exc:
        log.exception("webhook %s (%s) to %s could not be sent", event_id, event_type, url)
        return transport.Answer(
            None,
            f"not sent: {type(exc).__name__}: {exc}"[:500],
            int((time.monotonic() - started) * 1000),
        )


def _lock_endpoint(endpoint_id):
    db.session.execute(select(WebhookEndpoint.id).where(WebhookEndpoint.id == endpoint_id).with_for_update())
    return db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)


def record(delivery_id, answer, now):
    """Log the attempt; mark the delivery delivered, or schedule its retry (failed after
    WEBHOOK_MAX_ATTEMPTS); keep the endpoint's failure clock and disable it after a day of
    failures, mailing the admins. Returns the delivery's status."""
    cfg = current_app.config
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its endpoint was deleted while the request was on its way
        db.session.commit()
        return None
    endpoint = _lock_endpoint(delivery.endpoint_id)
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            started_at=now,
            duration_ms=answer.duration_ms,
            status_code=answer.status_code,
            error=(answer.error or None) and answer.error[:500],
            ok=answer.ok,
        )
    )
    if answer.ok:
        delivery.status, delivery.delivered_at, delivery.last_error = DELIVERY_DELIVERED, now, None
        endpoint.failing_since = None
    else:
        delivery.last_error = (answer.error or f"HTTP {answer.status_code}")[:500]
        if delivery.attempts >= cfg["WEBHOOK_MAX_ATTEMPTS"]:
            delivery.status = DELIVERY_FAILED
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        endpoint.failing_since = endpoint.failing_since or now
        if endpoint.enabled and now - endpoint.failing_since >= timedelta(
            hours=cfg["WEBHOOK_DISABLE_AFTER_HOURS"]
        ):
            disable_failing(endpoint, delivery.last_error)
    status = delivery.status
    db.session.commit()
    return status


def disable_failing(endpoint, last_error):
    """Disable an endpoint whose every attempt failed for WEBHOOK_DISABLE_AFTER_HOURS and mail the
    active admins (through the outbox, in this same transaction)."""
    hours = current_app.config["WEBHOOK_DISABLE_AFTER_HOURS"]
    since = endpoint.failing_since.strftime("%Y-%m-%d %H:%M UTC")
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"Disabled automatically: every delivery failed for {hours} hours (since {since})."
    )
    endpoint.updated_at = utcnow()
    log.error("webhook endpoint %s disabled after %s hours of failures", endpoint.id, hours)
    notify.admin_alert(
        active_admins(),
        subject=f"webhook endpoint disabled: {endpoint.url}"[:200],
        text=(
            f"The webhook endpoint {endpoint.url} was disabled: every delivery failed for {hours} "
            f"hours (since {since}). The last error: {last_error}. Deliveries already queued wait "
            "and are sent once it is enabled again; events meanwhile are not kept for it."
        ),
        url=public_url("webhooks_admin.endpoint", endpoint_id=endpoint.id),
    )


def process_due(now=None, limit=None):
    """Send what is due now; returns counts {"webhooks delivered", "webhooks deferred", "webhooks failed"}."""
    counts = {"webhooks delivered": 0, "webhooks deferred": 0, "webhooks failed": 0}
    for delivery_id, attempt, url, secret, body, event_id, event_type in claim_due(now, limit):
        if not renew(delivery_id, attempt, now or utcnow()):
            log.warning(
                "webhook %s (%s) to %s: claimed again by another worker, not sent twice",
                event_id,
                event_type,
                url,
            )
            continue
        answer = _send_guarded(url, secret, body, event_id, event_type)
        try:
            status = record(delivery_id, answer, now or utcnow())
        except Exception:  # one delivery's trouble is logged; the others claimed with it still go
            db.session.rollback()
            log.exception(
                "webhook %s (%s) to %s: its outcome could not be recorded", event_id, event_type, url
            )
            continue  # still queued: tried again when its claim's lease ends
        if status is None:
            continue
        if status == DELIVERY_DELIVERED:
            counts["webhooks delivered"] += 1
        else:
            counts["webhooks failed" if status == DELIVERY_FAILED else "webhooks deferred"] += 1
            log.warning("webhook %s (%s) to %s: %s", event_id, event_type, url, answer.error)
    return counts


def prune(days, now=None):
    """Delete attempts older than `days` days and the finished (delivered or failed) deliveries
    made before then; queued ones are kept whatever their age. Returns (deliveries, attempts)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    finished = select(WebhookDelivery.id).where(
        WebhookDelivery.status != DELIVERY_QUEUED, WebhookDelivery.created_at < cutoff
    )
    attempts = db.session.execute(
        db.delete(WebhookAttempt).where(
            (WebhookAttempt.started_at < cutoff) | WebhookAttempt.delivery_id.in_(finished)
        )
    ).rowcount
    deliveries = db.session.execute(
        db.delete(WebhookDelivery).where(WebhookDelivery.id.in_(finished.scalar_subquery()))
    ).rowcount
    db.session.flush()
    return deliveries, attempts
