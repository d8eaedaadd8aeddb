"""Attachments: checked, stored outside the web root (a local folder or an S3 bucket), served only
to those who may see the ticket."""

import html
import io
import os
import re
import secrets
import threading
from datetime import timedelta

import pytest
import time_machine

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle as ticket_service
from helpdesk.tickets import storage
from helpdesk.tickets.models import Attachment, Ticket, TicketDraft

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(params=["local", "s3"])
def files(request, app, monkeypatch, tmp_path):
    """The attachment store of the test: a folder of its own, or a fresh bucket on moto's S3."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    if request.param == "s3":
        return request.getfixturevalue("s3_storage")
    return storage.backend(app)


def stored_names(files):
    """Every name in the store, whatever its age."""
    return set(files.names_older_than(utcnow() + timedelta(days=365)))


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


def test_attachment_is_stored_under_a_random_name_and_served_as_download(
    app, client, login, make, ref, files
):
    user = make.customer()
    login(user)
    response = client.post(
        "/portal/tickets/new", data=_form(ref, [("screen.png", PNG)]), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    item = db.session.scalar(db.select(Attachment))
    assert item.ticket_id is not None and item.filename == "screen.png"
    assert stored_names(files) == {item.storage_name} and item.storage_name != "screen.png"
    download = client.get(f"/attachments/{item.id}/screen.png")
    body = download.get_data()
    download.close()
    assert download.status_code == 200 and body == PNG
    assert download.headers["Content-Length"] == str(len(PNG))
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_local_files_are_outside_the_web_root(app, client, login, make, ref):
    login(make.customer())
    client.post(
        "/portal/tickets/new", data=_form(ref, [("screen.png", PNG)]), content_type="multipart/form-data"
    )
    item = db.session.scalar(db.select(Attachment))
    stored = os.path.join(app.config["UPLOAD_FOLDER"], item.storage_name)
    assert os.path.exists(stored) and not stored.startswith(app.static_folder)


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


def test_a_file_name_in_any_script_is_kept_and_offered_as_the_download_s_name(client, login, make, ref):
    login(make.customer())
    client.post(
        "/portal/tickets/new",
        data=_form(ref, [("résumé 日本 <v2>.png", PNG), ("CON.png", PNG), (".hidden.png", PNG)]),
        content_type="multipart/form-data",
    )
    ticket = db.session.scalar(db.select(Ticket))
    assert sorted(a.filename for a in ticket.attachments) == [
        "_CON.png",
        "hidden.png",
        "résumé 日本 _v2_.png",
    ]
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "résumé 日本 _v2_.png" in page
    item = next(a for a in ticket.attachments if a.filename.startswith("résumé"))
    link = re.search(rf'href="([^"]*/attachments/{item.id}/[^"]*)"', page).group(1)
    with client.get(html.unescape(link)) as download:
        assert download.status_code == 200 and download.data == PNG
        disposition = download.headers["Content-Disposition"]
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC%20_v2_.png" in disposition


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


def test_attachments_are_404_for_those_who_may_not_see_the_ticket(client, login, make, ref, files):
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


def test_files_of_a_rolled_back_transaction_are_removed(app, make, ref, files):
    user = make.customer()
    ticket = make.ticket(requester=user, category=ref.categories["IT"], priority=ref.priorities["Low"])
    db.session.commit()  # the ticket exists before the transaction that is rolled back
    ticket_service.add_message(ticket, user, "with a file", files=[("a.txt", b"kept only if committed")])
    assert len(stored_names(files)) == 1
    db.session.rollback()
    assert stored_names(files) == set()
    ticket_service.add_message(
        db.session.get(Ticket, ticket.id), user, "again", files=[("b.txt", b"committed")]
    )
    db.session.commit()
    assert stored_names(files) == {db.session.scalar(db.select(Attachment.storage_name))}


def test_stored_files_are_readable_by_the_app_only(app, client, login, make, ref):
    login(make.customer())
    client.post(
        "/portal/tickets/new", data=_form(ref, [("screen.png", PNG)]), content_type="multipart/form-data"
    )
    item = db.session.scalar(db.select(Attachment))
    mode = os.stat(os.path.join(app.config["UPLOAD_FOLDER"], item.storage_name)).st_mode & 0o777
    assert mode == 0o600


def test_more_files_than_allowed_at_once_keeps_the_first_and_says_so(app, client, login, make, ref):
    login(make.customer())
    files = [(f"shot{n:02d}.png", PNG) for n in range(12)]
    response = client.post(
        "/portal/tickets/new", data=_form(ref, files, body=""), content_type="multipart/form-data"
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "shot10.png: not kept, at most 10 files can be sent at once." in text
    assert "shot11.png: not kept" in text
    kept = db.session.scalars(db.select(Attachment.filename).order_by(Attachment.id)).all()
    assert kept == [f"shot{n:02d}.png" for n in range(10)]


def test_files_sent_at_once_are_bounded_in_total(app, make, monkeypatch):
    from helpdesk.tickets import uploads

    monkeypatch.setitem(app.config, "UPLOAD_MAX_POST_MB", 1)
    third = PNG + b"\x00" * (400 * 1024)
    staged, errors = uploads.stage_files(
        make.customer(), "form", [(n, third) for n in ("a.png", "b.png", "c.png")]
    )
    assert [a.filename for a in staged] == ["a.png", "b.png"]
    assert errors == ["c.png: not kept, the files sent at once may total at most 1 MB."]


def test_staged_files_of_one_user_have_a_quota(app, client, login, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_STAGED_QUOTA_MB", 1)
    login(make.customer())
    part = PNG + b"\x00" * (300 * 1024)
    for n in range(4):
        text = client.post(
            "/portal/tickets/new",
            data=_form(ref, [(f"part{n}.png", part)], body="", submission_key=f"form-{n}"),
            content_type="multipart/form-data",
        ).get_data(as_text=True)
    assert "part3.png: not kept, your files waiting to be sent would exceed 1 MB." in text
    assert sorted(db.session.scalars(db.select(Attachment.filename))) == [
        "part0.png",
        "part1.png",
        "part2.png",
    ]
    # Another customer has their own quota.
    login(make.customer())
    client.post(
        "/portal/tickets/new",
        data=_form(ref, [("other.png", part)], body="", submission_key="form-x"),
        content_type="multipart/form-data",
    )
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 4


def test_a_request_over_the_size_limit_is_refused_before_it_is_read(app, client, login, make, ref):
    login(make.customer())
    too_big = b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + 1)  # raw bytes: the client spools nothing
    response = client.post(
        "/portal/tickets/new", data=too_big, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "your text is still in the form" in page and "MB together" in page
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_uploads_clean_removes_abandoned_staged_files_and_orphans_only(app, client, login, make, ref, files):
    from helpdesk.tickets import drafts

    customer = make.customer()
    login(customer)
    for key, name in (("old-form", "old.png"), ("draft-form", "draft.png")):
        client.post(
            "/portal/tickets/new",
            data=_form(ref, [(name, PNG)], body="", submission_key=key),
            content_type="multipart/form-data",
        )
    sent = client.post(
        "/portal/tickets/new",
        data=_form(ref, [("sent.png", PNG)], submission_key="sent-form"),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    drafts.save_draft(customer, submission_key="draft-form", subject="Half written")
    orphan = secrets.token_hex(24)  # written by a server that crashed before its commit
    files.put(orphan, b"x")
    files.put("notes.txt", b"not one of ours")  # a name the desk never makes: never removed
    db.session.commit()
    old_name = db.session.scalar(db.select(Attachment.storage_name).where(Attachment.filename == "old.png"))

    with time_machine.travel(utcnow() + timedelta(days=2)):  # all of the above is now two days old
        db.session.execute(db.update(TicketDraft).values(expires_at=utcnow() + timedelta(hours=1)))
        client.post(
            "/portal/tickets/new",
            data=_form(ref, [("new.png", PNG)], body="", submission_key="new-form"),
            content_type="multipart/form-data",
        )
        result = app.test_cli_runner().invoke(args=["uploads", "clean"])

    assert result.exit_code == 0, result.output
    assert "Removed 1 staged attachment(s) and 2 file(s) older than 24 h." in result.output
    # A sent ticket's file, a live draft's and a fresh one stay.
    kept = db.session.scalars(db.select(Attachment)).all()
    assert sorted(a.filename for a in kept) == ["draft.png", "new.png", "sent.png"]
    assert stored_names(files) == {a.storage_name for a in kept}
    assert files.exists("notes.txt") and not files.exists(orphan) and not files.exists(old_name)


def test_a_file_removed_from_a_form_goes_only_when_the_removal_commits(app, make, files):
    from helpdesk.tickets import uploads

    user = make.customer()
    [item], _errors = uploads.stage_files(user, "form", [("a.png", PNG)])
    db.session.commit()
    uploads.discard_staged(user, "form", [item.id])
    assert files.exists(item.storage_name)  # the row is gone only if this transaction commits
    db.session.rollback()
    assert files.exists(item.storage_name)
    uploads.discard_staged(user, "form", [item.id])
    db.session.commit()
    assert not files.exists(item.storage_name)


def test_a_long_name_is_shortened_with_its_extension_kept_and_sizes_read_well(client, login, make, ref):
    login(make.customer())
    long_name = "quarterly-report-" * 20 + ".png"  # 344 characters
    answer = client.post(
        "/portal/tickets/new", data=_form(ref, [(long_name, PNG)]), content_type="multipart/form-data"
    )
    assert answer.status_code == 302
    item = db.session.scalar(db.select(Attachment))
    assert len(item.filename) == 200 and item.filename.endswith("-quarterly.png")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"({len(PNG)} bytes)" in page and "0.0 KB" not in page


@pytest.mark.postgres_only
@pytest.mark.committing
def test_files_sent_at_once_from_several_tabs_stay_within_the_quota(
    app, login, make, ref, monkeypatch, tmp_path
):
    """Four tabs send a file each at the same moment (PostgreSQL, each request on its own
    connection): each reads what is staged already under a lock of the user's, so the quota holds
    for the files sent together as for files sent one after the other."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "UPLOAD_STAGED_QUOTA_MB", 1)
    user = make.customer()
    tabs = [login(user, as_client=app.test_client()) for _ in range(4)]
    part = PNG + b"\x00" * (400 * 1024)
    forms = [_form(ref, [(f"part{n}.png", part)], body="", submission_key=f"tab-{n}") for n in range(4)]
    db.session.commit()
    barrier, pages = threading.Barrier(len(tabs)), []

    def send(tab, form):
        barrier.wait()
        pages.append(tab.post("/portal/tickets/new", data=form, content_type="multipart/form-data"))

    threads = [threading.Thread(target=send, args=pair) for pair in zip(tabs, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    texts = [page.get_data(as_text=True) for page in pages]
    assert [page.status_code for page in pages] == [200] * 4
    assert sum("would exceed 1 MB" in text for text in texts) == 2
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 2
