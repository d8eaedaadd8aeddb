"""Test helpers for e-mail: an in-process SMTP server (aiosmtpd) and .eml fixtures with placeholders."""

import socket
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller

FIXTURES = Path(__file__).parent / "fixtures" / "mail"


class RecordingHandler:
    """Accepts mail and records it; `refuse` makes the next N DATA commands answer 451."""

    def __init__(self):
        self.received = []
        self.refuse = 0
        self.refuse_always = False

    async def handle_DATA(self, server, session, envelope):
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
