"""Outbox delivery: claim due rows safely, send them over SMTP with their stored Message-ID, retry with backoff.

This is the worker's unit of work, so unlike request services it commits: the claim, and each
outcome, in short transactions of their own. No transaction is open while talking to the SMTP
server (on SQLite an open write transaction would block the web application meanwhile).
"""

import logging
import smtplib
import ssl
import time
from datetime import timedelta

from flask import current_app
from jinja2 import TemplateError
from sqlalchemy import select, update

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import notify
from helpdesk.mail.compose import MailNotComposed, build_email, compose, from_address
from helpdesk.mail.models import OUTBOX_DEVBOX, OUTBOX_FAILED, OUTBOX_QUEUED, OUTBOX_SENT, OutboxMessage

log = logging.getLogger("helpdesk.mail")


def backoff(attempts):
    """Delay before the next try after `attempts` failures: 1, 2, 4, ... units, capped."""
    cfg = current_app.config
    seconds = cfg["MAIL_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, cfg["MAIL_BACKOFF_MAX_SECONDS"]))


def claim_due(now=None, limit=None):
    """Claim due queued rows for this worker and commit the claim; returns [(id, to_addr, message)].

    Guarantees: two workers never claim the same row (FOR UPDATE SKIP LOCKED on PostgreSQL;
    SQLite serialises writers at BEGIN IMMEDIATE). A row whose recipient may no longer see its
    ticket (notify.withheld) is marked failed, saying why, and never sent. A row not composed yet is composed by its first
    claim, in the claim's transaction (a mail that cannot be written is marked failed, with why,
    and an admin may retry it). A claim counts an attempt and moves
    next_attempt_at past a lease, so a row whose worker died is retried later with the same
    Message-ID rather than lost or re-created. A stored request (notify.is_request: an address
    someone typed for a reset link) is replaced by the mails it comes to, claimed in this batch.
    """
    now = now or utcnow()
    cfg = current_app.config
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OUTBOX_QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit or cfg["MAIL_WORKER_BATCH"])
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    rows = db.session.scalars(query).all()
    for row in rows:  # grows while it runs: the mails a stored request comes to
        if notify.is_request(row):  # someone typed an address (a reset link): decide now
            rows.extend(mail for mail in notify.resolve_request(row) if mail.status == OUTBOX_QUEUED)
            continue
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=cfg["MAIL_LEASE_SECONDS"])
        reason = notify.withheld(row)  # its recipient may no longer see its ticket: never sent
        if reason:
            row.status = OUTBOX_FAILED
            row.last_error = f"not sent: {reason}"
            log.info("mail %s to %s %s", row.message_id, row.to_addr, row.last_error)
            continue
        try:
            compose(row)  # the first claim writes the mail out (kept for every later attempt)
        except (MailNotComposed, TemplateError, AttributeError, TypeError, ValueError, LookupError) as exc:
            row.status = OUTBOX_FAILED
            row.last_error = f"cannot compose the message: {type(exc).__name__}: {exc}"[:2000]
            log.error("mail %s to %s cannot be composed: %s", row.message_id, row.to_addr, exc)
            continue
        try:
            claimed.append((row.id, row.to_addr, build_email(row)))
        except (ValueError, TypeError, IndexError) as exc:  # e.g. an address the parser refuses
            row.status = OUTBOX_FAILED
            row.last_error = f"cannot build the message: {type(exc).__name__}: {exc}"[:2000]
            log.error("mail %s to %s cannot be built: %s", row.message_id, row.to_addr, exc)
    db.session.commit()
    return claimed


def open_smtp():
    """A logged-in SMTP connection per config (implicit TLS, or STARTTLS, or plain)."""
    cfg = current_app.config
    timeout = cfg["MAIL_TIMEOUT"]
    if cfg["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(
            cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
    if cfg["MAIL_USERNAME"]:
        smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
    return smtp


def _close(smtp):
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _is_permanent(exc):
    """A 5xx answer will not change by retrying; everything else (4xx, network) may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _still_ours(row_id, lease_end):
    """Just before sending a claimed row: renew its lease if it is still ours (queued, with the
    lease our claim gave it) and commit; False if not. A batch held up by a failing server can
    outlast its lease, and another worker may then have claimed the row: it sends it, we do not
    (without this both did, the recipient got the mail twice)."""
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    renewed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.status == OUTBOX_QUEUED,
            OutboxMessage.next_attempt_at == lease_end,
        )
        .values(next_attempt_at=max(lease_end, utcnow() + lease))
    ).rowcount
    db.session.commit()
    return renewed == 1


def _mark_sent(row_id):
    row = db.session.get(OutboxMessage, row_id)
    row.status = OUTBOX_SENT
    row.sent_at = utcnow()
    row.last_error = None
    db.session.commit()


def _mark_failure(row_id, exc, now):
    """Schedule a retry with backoff, or mark failed after MAIL_MAX_ATTEMPTS or a permanent refusal."""
    row = db.session.get(OutboxMessage, row_id)
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if _is_permanent(exc) or row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        row.status = OUTBOX_FAILED
        log.error("mail %s to %s failed for good: %s", row.message_id, row.to_addr, row.last_error)
    else:
        row.next_attempt_at = now + backoff(row.attempts)
        log.warning("mail %s to %s deferred: %s", row.message_id, row.to_addr, row.last_error)
    outcome = row.status
    db.session.commit()
    return outcome


def _mark_devbox(row_id):
    row = db.session.get(OutboxMessage, row_id)
    row.status = OUTBOX_DEVBOX
    row.sent_at = utcnow()
    db.session.commit()


def process_due(now=None, limit=None):
    """Deliver what is due now; returns counts {"sent", "deferred", "failed", "devbox"}.

    Guarantees: each row is sent with the Message-ID stored on it; SMTP trouble defers the
    row (never drops it); a row is marked sent only after the server accepted it; a row is sent
    only while this worker's lease on it runs (renewed just before), so no other worker sends it
    at the same time.
    """
    now = now or utcnow()
    counts = {"sent": 0, "deferred": 0, "failed": 0, "devbox": 0}
    lease_end = now + timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])  # as claim_due sets it
    claimed = claim_due(now, limit)
    if current_app.config["MAIL_BACKEND"] == "devbox":
        for row_id, _to, _msg in claimed:
            _mark_devbox(row_id)
            counts["devbox"] += 1
        return counts
    smtp = None
    try:
        for row_id, to_addr, message in claimed:
            if not _still_ours(row_id, lease_end):
                log.info("mail %s: its lease ran out and another worker claimed it", row_id)
                continue
            try:
                smtp = smtp or open_smtp()
                smtp.send_message(message, from_addr=from_address(), to_addrs=[to_addr])
            except (smtplib.SMTPException, OSError) as exc:
                _close(smtp)
                smtp = None
                outcome = _mark_failure(row_id, exc, now)
                counts["failed" if outcome == OUTBOX_FAILED else "deferred"] += 1
                continue
            _mark_sent(row_id)
            counts["sent"] += 1
    finally:
        _close(smtp)
    return counts


WORKER_JOBS = "helpdesk_worker_jobs"


def register_worker_job(app, job):
    """Have `flask worker` also call `job()` each round (it delivers what is due and returns counts
    by name, e.g. {"webhooks delivered": 2}): one worker process for every outgoing queue."""
    app.extensions.setdefault(WORKER_JOBS, []).append(job)


def run_worker(*, once=False, interval=10.0, echo=print, rounds=None):
    """Deliver due mail until stopped (or once, or for `rounds` rounds). Database trouble in a
    round is logged and the loop goes on; with `once` it is raised."""
    done = 0
    while rounds is None or done < rounds:
        done += 1
        try:
            counts = process_due()
            for job in current_app.extensions.get(WORKER_JOBS, ()):  # webhooks, ...
                counts.update(job())
        except Exception:  # the loop must survive a database restart
            db.session.rollback()
            log.exception("mail worker: delivery round failed")
            counts = None
            if once:
                raise
        if counts and any(counts.values()):
            echo(", ".join(f"{k} {v}" for k, v in counts.items() if v))
        if once:
            return counts
        if not counts or not any(counts.values()):
            time.sleep(interval)


def retry(row):
    """Queue a failed (or deferred) message again, due now, with a fresh set of attempts.

    Guarantees: the Message-ID is kept, so the recipient sees one message, not two.
    """
    if row.status not in (OUTBOX_FAILED, OUTBOX_QUEUED):
        return False
    row.status = OUTBOX_QUEUED
    row.attempts = 0
    row.next_attempt_at = utcnow()
    db.session.flush()
    return True
