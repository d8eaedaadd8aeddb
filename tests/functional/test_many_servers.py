"""Two app servers, one desk: separate gunicorn processes with separate instance folders, against one
PostgreSQL database and one S3 endpoint (moto's server mode), as behind a load balancer. What one
server does, the other sees at once: a reply, an attachment, a revoked permission, a deactivation
and a logout. Nothing a request needs is kept on one host."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from tests import factories as make
from tests.conftest import S3_ENV, _create_pg_database, _drop_pg_database, make_test_config

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200)
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')  # every page's <body hx-headers=...>


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: object
    body: bytes

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class Browser:
    """One person's browser: its cookies go to whichever server the balancer picks."""

    def __init__(self):
        self.cookies = {}

    def request(self, port, method, path, fields=None, files=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if files:
            body, headers["Content-Type"] = multipart(fields or {}, files)
        elif fields is not None:
            body, headers["Content-Type"] = urlencode(fields, doseq=True), "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            conn.close()
        for header in answer.headers.get_all("Set-Cookie") or ():
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def get(self, port, path):
        return self.request(port, "GET", path)

    def post(self, port, path, fields, files=None, token_from=None):
        """POST a form with the CSRF token of a page just read (from `token_from`, else `path`)."""
        page = self.get(port, token_from or path)
        fields = {**fields, "csrf_token": CSRF.search(page.text).group(1)}
        return self.request(port, "POST", path, fields, files)

    def login(self, port, email):
        answer = self.post(port, "/login", {"email": email, "password": make.PASSWORD})
        assert answer.status == 302, answer.text
        return self


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def start_server(env, folder):
    """gunicorn serving wsgi:app with its own instance folder; returns (process, port)."""
    port = free_port()
    log = open(folder / "gunicorn.log", "wb")  # closed by stop_server
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env={**env, "HELPDESK_INSTANCE_PATH": str(folder), "UPLOAD_FOLDER": str(folder / "uploads")},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log = log
    return process, port


def wait_until_up(process, port, folder):
    """Until /healthz answers 200 (the worker has loaded the app); a server that exits or never
    answers fails the test with the end of its log."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if Browser().get(port, "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not come up: {(folder / 'gunicorn.log').read_text()[-3000:]}")


def stop_server(process):
    """Kill the server's process group (master and worker): nothing of a test server needs a
    graceful stop, and gunicorn's own takes seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    process.log.close()


@pytest.fixture
def desk_database():
    """A new empty PostgreSQL database (dropped after the test)."""
    url, admin, name = _create_pg_database(os.environ["TEST_DATABASE_URL"], "servers")
    try:
        yield url
    finally:
        _drop_pg_database(admin, name)


def migrate_and_seed(url, folder):
    """`flask db upgrade` on the database (in this process: the servers start meanwhile), then
    categories and priorities, an admin, an IT technician, two customers and one IT ticket."""
    from helpdesk.demo.seed import seed_reference_data

    folder.mkdir()
    app = create_app(make_test_config(url, str(folder)))
    with app.app_context():  # the command runs in the current app's context: this one
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        categories, priorities = seed_reference_data()
        people = {
            "admin": make.admin(email="ada@example.com"),
            "tech": make.technician(categories["IT"], email="ivan@example.com"),
            "alice": make.customer(email="alice@example.com"),
            "bob": make.customer(email="bob@example.com"),
        }
        ticket = make.ticket(
            subject="Printer jams",
            requester=people["alice"],
            category=categories["IT"],
            priority=priorities["Normal"],
        )
        db.session.commit()
        ids = {name: user.id for name, user in people.items()} | {
            "ticket": ticket.id,
            "it": categories["IT"].id,
        }
        db.session.remove()
        db.engine.dispose()
    return ids


@pytest.fixture
def servers(desk_database, s3_bucket, tmp_path):
    """Servers A and B: (port_a, port_b, instance folders, the bucket)."""
    env = {
        **os.environ,
        **S3_ENV,
        "DATABASE_URL": desk_database,
        "SECRET_KEY": "one-secret-for-every-server",
        "ATTACHMENTS_S3_BUCKET": s3_bucket.name,
        "ATTACHMENTS_S3_ENDPOINT_URL": s3_bucket.endpoint,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8",
        "ARGON2_PARALLELISM": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.pop("TEST_DATABASE_URL", None)
    folders = [tmp_path / "server-a", tmp_path / "server-b"]
    started = []
    try:
        for folder in folders:
            folder.mkdir()
            started.append(start_server(env, folder))
        ids = migrate_and_seed(desk_database, tmp_path / "seed")
        for (process, port), folder in zip(started, folders, strict=True):
            wait_until_up(process, port, folder)
        yield started[0][1], started[1][1], folders, s3_bucket, ids
    finally:
        for process, _port in started:
            stop_server(process)


def test_two_servers_see_each_others_writes_at_once(servers):
    a, b, folders, bucket, ids = servers
    ticket = ids["ticket"]
    tech = Browser().login(a, "ivan@example.com")
    alice = Browser().login(b, "alice@example.com")
    admin = Browser().login(a, "ada@example.com")
    bob = Browser().login(b, "bob@example.com")

    # A reply posted on A is on the customer's page on B.
    reply = tech.post(
        a,
        f"/agent/tickets/{ticket}/reply",
        {
            "reply-body": "Open tray 2 and pull the sheet out.",
            "reply-action": "reply",
            "reply-submission_key": "r1",
        },
        token_from=f"/agent/tickets/{ticket}",
    )
    assert reply.status == 302, reply.text
    assert "Open tray 2 and pull the sheet out." in alice.get(b, f"/portal/tickets/{ticket}").text

    # An attachment uploaded on A downloads on B (from the bucket: neither host kept it).
    sent = alice.post(
        a,
        f"/portal/tickets/{ticket}/reply",
        {"body": "Photo of the tray.", "submission_key": "r2"},
        files={"attachments": ("tray.png", PNG)},
        token_from=f"/portal/tickets/{ticket}",
    )
    assert sent.status == 302, sent.text
    link = re.search(r"/attachments/\d+/tray.png", tech.get(b, f"/agent/tickets/{ticket}").text).group(0)
    download = tech.get(b, link)
    assert download.status == 200 and download.body == PNG
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert len(bucket.client.list_objects_v2(Bucket=bucket.name)["Contents"]) == 1
    assert not any((folder / "uploads").exists() and os.listdir(folder / "uploads") for folder in folders)

    # The technician's IT permission revoked on A: the ticket is 404 on B.
    assert tech.get(b, f"/agent/tickets/{ticket}").status == 200
    revoked = admin.post(
        a, f"/admin/permissions/{ids['tech']}/{ids['it']}", {}, token_from="/admin/permissions"
    )
    assert revoked.status == 302, revoked.text
    assert tech.get(b, f"/agent/tickets/{ticket}").status == 404
    assert tech.get(b, link).status == 404

    # A customer deactivated on A is signed out on B.
    deactivated = admin.post(
        a,
        f"/admin/users/{ids['alice']}/active",
        {"active": "0", "confirmed_action": "yes"},
        token_from=f"/admin/users/{ids['alice']}",
    )
    assert deactivated.status == 302, deactivated.text
    gone = alice.get(b, f"/portal/tickets/{ticket}")
    assert gone.status == 302 and "/login" in gone.headers["Location"]

    # Logging out on A ends that session on B, even for a copy of the old cookie.
    assert bob.get(b, "/portal/tickets").status == 200
    old_cookies = dict(bob.cookies)
    assert bob.post(a, "/logout", {}, token_from="/portal/tickets").status == 302
    replay = Browser()
    replay.cookies = old_cookies
    answer = replay.get(b, "/portal/tickets")
    assert answer.status == 302 and "/login" in answer.headers["Location"]
