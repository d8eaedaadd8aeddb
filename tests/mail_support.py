"""Test helpers for e-mail: an in-process SMTP server (aiosmtpd) and .eml fixtures with placeholders."""

import asyncio
import re
import socket
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import event, select

from helpdesk.extensions import db
from helpdesk.mail.compose import compose
from helpdesk.mail.delivery import claim_due
from helpdesk.mail.models import OutboxMessage
from tests.conftest import SERVER_POLL

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
TRUSTED_MTA = "mx.helpdesk.example"  # the authserv-id tests configure as MAIL_TRUSTED_AUTHSERV_ID


class RecordingHandler:
    """Accepts mail and records it; `refuse` makes the next N DATA commands answer 451; `delay`
    seconds before each answer make a slow server."""

    def __init__(self):
        self.received = []
        self.refuse = 0
        self.refuse_always = False
        self.delay = 0

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse_always or self.refuse > 0:
            self.refuse = max(self.refuse - 1, 0)
            return "451 4.3.0 try later"
        self.received.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "message": BytesParser(policy=policy.default).parsebytes(envelope.original_content),
                "raw": envelope.original_content,
            }
        )
        return "250 2.0.0 OK"

    def message_ids(self):
        return [r["message"]["Message-ID"] for r in self.received]


def written(rows):
    """The outbox rows with their mail written out, as the worker writes each one before its first
    attempt (helpdesk.mail.compose.compose): a request only stores what the mail says."""
    for row in rows:
        compose(row)
    return rows


def posted_work(client, path, data, status):
    """What one post does in the database: the text of each SQL statement it runs (the test's
    savepoint names made alike) and the outbox rows it writes. For pages that must do the same work
    whatever address they are given (an account's existence must not show in their time)."""
    seen = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(re.sub(r"sa_savepoint_\d+", "sa_savepoint", statement))

    before = set(db.session.scalars(select(OutboxMessage.id)))
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert client.post(path, data=data).status_code == status
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return seen, [row for row in rows if row.id not in before]


def worker_claims():
    """What the worker's next round does before sending (helpdesk.mail.delivery.claim_due, nothing
    sent): a stored request (a reset link asked for an address) becomes the mail it comes to, or
    nothing, and every due mail is written out."""
    return claim_due()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_smtp_server(app, monkeypatch):
    """A real SMTP server on 127.0.0.1, with the app configured to deliver to it."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    for key, value in {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_TIMEOUT": 5,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    try:
        yield handler
    finally:
        controller.stop()


def load_eml(name, **values):
    """A fixture message as bytes, with {{NAME}} placeholders filled in."""
    raw = (FIXTURES / name).read_bytes()
    for key, value in values.items():
        raw = raw.replace(("{{" + key + "}}").encode(), str(value).encode())
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def with_headers(raw, *lines):
    """The message with these header lines on top (as a receiving MTA adds its own)."""
    return "".join(f"{line}\r\n" for line in lines).encode() + raw


def with_auth_results(raw, results="dmarc=pass", authserv=TRUSTED_MTA):
    """The message as our MTA would hand it on: an Authentication-Results field on top."""
    return with_headers(raw, f"Authentication-Results: {authserv};\r\n {results}")


def renamed(raw, n):
    """The same message under another Message-ID (a new message, not a redelivery)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"message-id:")]
    return b"\r\n".join([*lines, f"Message-ID: <renamed-{n}@mail.example.test>".encode()]) + sep + body


class FakeImapMailbox:
    """A minimal IMAP4rev1 server for one folder (plain TCP on 127.0.0.1): enough for imaplib's
    LOGIN, SELECT, UID SEARCH/FETCH/STORE, EXPUNGE and LOGOUT. `unreadable` UIDs answer NO."""

    def __init__(self, messages):
        self.messages = {uid: raw for uid, raw in enumerate(messages, start=1)}
        self.deleted = set()
        self.unreadable = set()
        self.logins = []
        self._server = None

    def start(self):
        import socketserver
        import threading

        mailbox = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"* OK [CAPABILITY IMAP4rev1] fake ready\r\n")
                for line in self.rfile:
                    tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
                    if not mailbox.answer(self.wfile, tag, rest):
                        return

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": SERVER_POLL}, daemon=True
        ).start()
        return self._server.server_address[1]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def answer(self, out, tag, rest):
        command, _, args = rest.partition(" ")
        command = command.upper()
        if command == "UID":
            command, _, args = args.partition(" ")
            command = "UID " + command.upper()
        if command == "CAPABILITY":
            out.write(b"* CAPABILITY IMAP4rev1\r\n")
        elif command == "LOGIN":
            self.logins.append(args)
        elif command == "SELECT":
            out.write(f"* {len(self.messages)} EXISTS\r\n* FLAGS (\\Deleted \\Seen)\r\n".encode())
            out.write(f"{tag} OK [READ-WRITE] done\r\n".encode())
            return True
        elif command == "UID SEARCH":
            uids = " ".join(str(u) for u in sorted(self.messages) if u not in self.deleted)
            out.write(f"* SEARCH {uids}\r\n".encode())
        elif command == "UID FETCH":
            uid = int(args.split(" ", 1)[0])
            if uid in self.unreadable or uid not in self.messages:
                out.write(f"{tag} NO cannot read\r\n".encode())
                return True
            raw = self.messages[uid]
            out.write(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
        elif command == "UID STORE":
            uid = int(args.split(" ", 1)[0])
            self.deleted.add(uid)
            out.write(f"* {uid} FETCH (UID {uid} FLAGS (\\Deleted))\r\n".encode())
        elif command == "EXPUNGE":
            for uid in sorted(self.deleted):
                self.messages.pop(uid, None)
            self.deleted.clear()
        elif command == "LOGOUT":
            out.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
            return False
        else:
            out.write(f"{tag} BAD unknown\r\n".encode())
            return True
        out.write(f"{tag} OK done\r\n".encode())
        return True


def printer_ticket(customer, ref):
    """The ticket the inbound-mail tests reply to: Alice's "Printer on fire", committed."""
    from helpdesk.credits import submission
    from helpdesk.extensions import db

    item, _ = submission.submit_ticket(
        customer,
        subject="Printer on fire",
        body="Smoke everywhere.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    db.session.commit()
    return item


def poll_from(app, monkeypatch, port):
    """Point the app's IMAP settings at a FakeImapMailbox listening on `port` (plain IMAP)."""
    settings = {
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": port,
        "IMAP_USE_SSL": False,
        "IMAP_USERNAME": "support",
        "IMAP_PASSWORD": "secret",
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
