"""Attachments: checked, stored outside the web root, served only to those who may see the ticket."""

import io
import os

import pytest

from helpdesk.extensions import db
from helpdesk.tickets import lifecycle as ticket_service
from helpdesk.tickets.models import Attachment, Ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _form(ref, files, **overrides):
    data = {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Normal"].id,
        "subject": "Screenshot attached",
        "body": "See the picture.",
        "submission_key": "upload-key",
        "attachments": [(io.BytesIO(content), name) for name, content in files],
    }
    data.update(overrides)
    return data


def test_attachment_is_stored_outside_static_and_served_as_download(app, client, login, make, ref):
    user = make.customer()
    login(user)
    response = client.post(
        "/portal/tickets/new", data=_form(ref, [("screen.png", PNG)]), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    item = db.session.scalar(db.select(Attachment))
    assert item.ticket_id is not None and item.filename == "screen.png"
    stored = os.path.join(app.config["UPLOAD_FOLDER"], item.storage_name)
    assert os.path.exists(stored) and not stored.startswith(app.static_folder)
    assert item.storage_name != "screen.png"
    download = client.get(f"/attachments/{item.id}/screen.png")
    body = download.get_data()
    download.close()
    assert download.status_code == 200 and body == PNG
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("page.html", b"<script>alert(1)</script>", "not accepted"),
        ("tool.exe", b"MZ...", "not accepted"),
        ("fake.png", b"<svg onload=alert(1)>", "not a valid .png"),
        ("noext", b"data", "needs a name with an extension"),
        ("latin1.txt", "caf\u00e9".encode("latin-1"), "UTF-8"),
    ],
)
def test_bad_uploads_are_refused_and_the_form_is_kept(client, login, make, ref, name, content, message):
    login(make.customer())
    response = client.post(
        "/portal/tickets/new", data=_form(ref, [(name, content)]), content_type="multipart/form-data"
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and message in text
    assert 'value="Screenshot attached"' in text
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_oversized_upload_is_refused(app, client, login, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_BYTES", 300 * 1024)  # small body: no temp files
    login(make.customer())
    big = PNG + b"\x00" * app.config["MAX_ATTACHMENT_BYTES"]
    text = client.post(
        "/portal/tickets/new", data=_form(ref, [("big.png", big)]), content_type="multipart/form-data"
    ).get_data(as_text=True)
    assert "larger than the 300 KB limit" in text


def test_file_names_are_normalised_before_checks(client, login, make, ref):
    login(make.customer())
    client.post(
        "/portal/tickets/new",
        data=_form(ref, [("../../etc/pass\u202ewd.png", PNG)]),
        content_type="multipart/form-data",
    )
    item = db.session.scalar(db.select(Attachment))
    assert "/" not in item.filename and ".." not in item.filename and "\u202e" not in item.filename


def test_good_files_are_kept_when_the_form_fails_and_attached_on_success(client, login, make, ref):
    login(make.customer())
    failed = client.post(
        "/portal/tickets/new",
        data=_form(ref, [("screen.png", PNG)], body=""),
        content_type="multipart/form-data",
    )
    assert "Files kept from your last attempt" in failed.get_data(as_text=True)
    assert "screen.png" in failed.get_data(as_text=True)
    ok = client.post("/portal/tickets/new", data=_form(ref, []), content_type="multipart/form-data")
    assert ok.status_code == 302
    ticket = db.session.scalar(db.select(Ticket))
    assert [a.filename for a in ticket.attachments] == ["screen.png"]


def _status(client, url):
    response = client.get(url)
    response.close()
    return response.status_code


def test_attachments_are_404_for_those_who_may_not_see_the_ticket(client, login, make, ref):
    owner = make.customer()
    ticket = make.ticket(requester=owner, category=ref.categories["IT"], priority=ref.priorities["Low"])
    agent = make.technician(ref.categories["IT"])
    ticket_service.add_message(ticket, owner, "public", files=[("a.txt", b"public file")])
    ticket_service.add_message(ticket, agent, "note", internal=True, files=[("b.txt", b"internal file")])
    db.session.commit()
    public, internal = db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()
    login(owner)
    assert _status(client, f"/attachments/{public.id}/a.txt") == 200
    assert _status(client, f"/attachments/{internal.id}/b.txt") == 404
    login(make.customer())
    assert _status(client, f"/attachments/{public.id}/a.txt") == 404
    login(make.technician(ref.categories["Sales"]))
    assert _status(client, f"/attachments/{public.id}/a.txt") == 404
    login(agent)
    assert _status(client, f"/attachments/{internal.id}/b.txt") == 200


def test_files_of_a_rolled_back_transaction_are_removed(app, make, ref):
    from helpdesk.tickets import uploads

    user = make.customer()
    ticket = make.ticket(requester=user, category=ref.categories["IT"], priority=ref.priorities["Low"])
    db.session.commit()  # the ticket exists before the transaction that is rolled back
    before = set(os.listdir(uploads.upload_folder()))
    ticket_service.add_message(ticket, user, "with a file", files=[("a.txt", b"kept only if committed")])
    written = set(os.listdir(uploads.upload_folder())) - before
    assert len(written) == 1
    db.session.rollback()
    assert set(os.listdir(uploads.upload_folder())) == before
    ticket_service.add_message(
        db.session.get(Ticket, ticket.id), user, "again", files=[("b.txt", b"committed")]
    )
    db.session.commit()
    assert len(set(os.listdir(uploads.upload_folder())) - before) == 1
