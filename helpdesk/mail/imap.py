"""IMAP polling: fetch each message, process it through mail_inbound, delete it only once stored."""

import imaplib
import logging
import ssl

from flask import current_app

from helpdesk.mail.inbound import ingest
from helpdesk.querying import only_one

log = logging.getLogger("helpdesk.mail")


def connect():
    """A logged-in IMAP connection with the configured folder selected (SSL unless IMAP_USE_SSL is off)."""
    cfg = current_app.config
    if not cfg.get("IMAP_HOST"):
        raise RuntimeError("IMAP_HOST is not configured.")
    if cfg["IMAP_USE_SSL"]:
        conn = imaplib.IMAP4_SSL(
            cfg["IMAP_HOST"],
            cfg["IMAP_PORT"],
            ssl_context=ssl.create_default_context(),
            timeout=cfg["MAIL_TIMEOUT"],
        )
    else:
        conn = imaplib.IMAP4(cfg["IMAP_HOST"], cfg["IMAP_PORT"], timeout=cfg["MAIL_TIMEOUT"])
    conn.login(cfg["IMAP_USERNAME"] or "", cfg["IMAP_PASSWORD"] or "")
    conn.select(cfg["IMAP_FOLDER"])
    return conn


def _raw_of(fetched):
    for item in fetched or []:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def poll(conn=None):
    """Process every undeleted message of the folder; returns how many were stored, or None when
    another poll (on this server or another) is running, which then does the work.

    Guarantees: a message is flagged deleted (and expunged) only after ingest() committed it,
    as a ticket message or as a log entry with its raw bytes; if storing fails, the message
    stays in the mailbox for the next poll, and a message seen twice is recognised by its
    Message-ID and not applied twice. One poll at a time for the whole desk (PostgreSQL), so polls
    from every server's cron neither fetch each message twice nor log copies as duplicates.
    """
    with only_one("imap-poll") as mine:
        if not mine:
            if conn is not None:
                _logout(conn)
            log.info("IMAP poll skipped: another poll is running")
            return None
        return _poll(conn or connect())


def _logout(conn):
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def _poll(conn):
    stored = 0
    try:
        status, data = conn.uid("SEARCH", None, "UNDELETED")
        if status != "OK":
            raise RuntimeError(f"IMAP SEARCH failed: {data!r}")
        for uid in (data[0] or b"").split():
            status, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = _raw_of(fetched) if status == "OK" else None
            if raw is None:
                log.warning("IMAP message %s could not be fetched; left in the mailbox", uid)
                continue
            ingest(raw)  # commits, or raises and leaves the message where it is
            conn.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
            stored += 1
        if stored:
            conn.expunge()
    finally:
        _logout(conn)
    return stored
