"""The attachment store's failures and settings: an unreachable store is a form error that keeps what
was typed (and is logged), a download it cannot serve is 503, a missing file 404; settings that
could never work stop the app with the setting named."""

import io
import logging
import socket

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.tickets import storage, uploads
from helpdesk.tickets.models import Attachment, Message, Ticket
from tests.conftest import make_test_config

from .agent_support import HTMX

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DOWN = "not kept, the file store is not answering. Try again in a moment."


def closed_port():
    """A port on this machine where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def store_down(app, s3_bucket, monkeypatch):
    """Attachments go to an S3 endpoint that refuses connections."""
    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_BUCKET", s3_bucket.name)
    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    yield storage.backend(app)
    storage.forget(app)


def new_ticket_form(ref, files):
    return {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Normal"].id,
        "subject": "Printer on fire",
        "body": "Smoke since this morning.",
        "submission_key": "down-key",
        "attachments": [(io.BytesIO(content), name) for name, content in files],
    }


def test_an_unreachable_store_keeps_the_new_ticket_form_and_says_so(
    client, login, make, ref, store_down, caplog
):
    login(make.customer())
    with caplog.at_level(logging.ERROR, logger="helpdesk.tickets.storage"):
        response = client.post(
            "/portal/tickets/new",
            data=new_ticket_form(ref, [("screen.png", PNG)]),
            content_type="multipart/form-data",
        )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"screen.png: {DOWN}" in text
    assert 'value="Printer on fire"' in text and "Smoke since this morning." in text
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0
    assert any(
        "write failed" in r.getMessage() and "EndpointConnectionError" in r.getMessage()
        for r in caplog.records
    )


def test_an_unreachable_store_keeps_the_agent_reply(client, login, desk, store_down):
    login(desk.tech_it)
    response = client.post(
        f"/agent/tickets/{desk.it_ticket.id}/reply",
        data={
            "reply-body": "Logs attached.",
            "reply-action": "reply",
            "reply-submission_key": "agent-down",
            "reply-attachments": [(io.BytesIO(b"up\n"), "router.log")],
        },
        content_type="multipart/form-data",
        headers=HTMX,
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and f"router.log: {DOWN}" in text and "Logs attached." in text
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_an_unreachable_store_fails_inbound_mail_and_keeps_it(app, ref, store_down):
    from tests.mail_support import load_eml

    raw = load_eml("new_ticket_attachments.eml")
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "failed" and entry.raw == raw and entry.reason.startswith("StorageError: ")
    assert db.session.scalars(db.select(Ticket)).all() == []


def _attachment(make, ref, user):
    ticket = make.ticket(requester=user, category=ref.categories["IT"], priority=ref.priorities["Low"])
    from helpdesk.tickets import lifecycle

    lifecycle.add_message(ticket, user, "file", files=[("a.txt", b"hello")])
    db.session.commit()
    return db.session.scalar(db.select(Attachment))


def test_a_download_the_store_cannot_serve_is_503(app, client, login, make, ref, s3_storage, monkeypatch):
    user = make.customer()
    item = _attachment(make, ref, user)
    login(user)
    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    response = client.get(f"/attachments/{item.id}/a.txt")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "The file store is not answering right now." in response.get_data(as_text=True)


def test_a_file_missing_from_the_store_is_404_and_logged(app, client, login, make, ref, s3_storage, caplog):
    user = make.customer()
    item = _attachment(make, ref, user)
    s3_storage.delete(item.storage_name)
    login(user)
    with caplog.at_level(logging.ERROR, logger="helpdesk.tickets.uploads"):
        assert client.get(f"/attachments/{item.id}/a.txt").status_code == 404
    assert f"file {item.storage_name} is missing" in caplog.text


def test_objects_go_under_the_prefix(app, make, s3_bucket, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_BUCKET", s3_bucket.name)
    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_ENDPOINT_URL", s3_bucket.endpoint)
    monkeypatch.setitem(app.config, "ATTACHMENTS_S3_PREFIX", "/desk/files")
    try:
        [item], _errors = uploads.stage_files(make.customer(), "form", [("a.png", PNG)])
        keys = [o["Key"] for o in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name)["Contents"]]
        assert keys == [f"desk/files/{item.storage_name}"]
    finally:
        storage.forget(app)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"ATTACHMENTS_S3_BUCKET": "My_Bucket"}, "ATTACHMENTS_S3_BUCKET='My_Bucket' is not a bucket name"),
        (
            {"ATTACHMENTS_S3_ENDPOINT_URL": "http://minio:9000"},
            "ATTACHMENTS_S3_BUCKET is not: name the bucket",
        ),
        (
            {"ATTACHMENTS_S3_BUCKET": "files", "ATTACHMENTS_S3_ENDPOINT_URL": "minio:9000"},
            "ATTACHMENTS_S3_ENDPOINT_URL='minio:9000' is not an http(s) URL",
        ),
        ({"ATTACHMENTS_S3_BUCKET": "files", "ATTACHMENTS_S3_PREFIX": "a/../b"}, "may not contain '..'"),
    ],
)
def test_storage_settings_that_cannot_work_stop_the_app(database_url, tmp_path, settings, message):
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_app(make_test_config(database_url, str(tmp_path), **settings))


def test_storage_settings_come_from_the_environment(monkeypatch):
    from helpdesk.config import from_environment

    found = from_environment(
        {
            "ATTACHMENTS_S3_BUCKET": "helpdesk-files",
            "HELPDESK_ATTACHMENTS_S3_ENDPOINT_URL": "http://minio.internal:9000",
            "ATTACHMENTS_S3_PREFIX": "prod/",
            "UPLOAD_FOLDER": "/srv/files",
        }
    )
    assert found == {
        "ATTACHMENTS_S3_BUCKET": "helpdesk-files",
        "ATTACHMENTS_S3_ENDPOINT_URL": "http://minio.internal:9000",
        "ATTACHMENTS_S3_PREFIX": "prod/",
        "UPLOAD_FOLDER": "/srv/files",
    }


def test_uploads_clean_says_when_the_store_is_down(app, store_down):
    result = app.test_cli_runner().invoke(args=["uploads", "clean"])
    assert result.exit_code == 1
    assert "The file store is not answering right now." in result.output
    assert "Cleaning stopped part-way (nothing is lost); run it again later." in result.output
