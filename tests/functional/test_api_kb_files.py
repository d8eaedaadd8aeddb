"""An article's images and attachments through the API: listed and downloaded by whoever may read
the article (as on its page), added and removed by its editors through the editor's own upload
checks and limits (kb.files), all or none."""

import io
import os

import pytest
from flask import current_app

from helpdesk.extensions import db
from helpdesk.kb import files

from ..kb_support import PDF, PNG, attach, file_url, fresh, write
from .api_support import bearer, is_problem


def _files(address, headers, *named, **fields):
    data = {"files": [(io.BytesIO(content), name) for name, content in named], **fields}
    return dict(data=data, headers=headers, content_type="multipart/form-data")


def _stored():
    folder = current_app.config["UPLOAD_FOLDER"]
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


def test_an_editor_adds_files_that_readers_list_and_download_like_on_the_page(client, desk):
    article = write(desk.tech_it, desk.it, "VPN set-up")
    db.session.commit()
    address = f"/api/v1/kb/articles/{article.id}/files"
    added = client.post(
        address, **_files(address, bearer(desk.tech_it), ("vpn.png", PNG), ("guide.pdf", PDF))
    )
    body = added.get_json()
    assert added.status_code == 201 and added.headers["Location"].endswith(address)
    assert [(f["filename"], f["content_type"], f["image"], f["size"]) for f in body["files"]] == [
        ("vpn.png", "image/png", True, len(PNG)),
        ("guide.pdf", "application/pdf", False, len(PDF)),
    ]
    assert [entry.filename for entry in fresh(article.id).files] == ["vpn.png", "guide.pdf"]
    reader = bearer(desk.requester)  # a customer: the article is public
    listed = client.get(address, headers=reader)
    assert listed.status_code == 200 and [f["id"] for f in listed.get_json()["items"]] == [
        f["id"] for f in body["files"]
    ]
    download = client.get(body["files"][1]["url"], headers=reader)
    assert download.status_code == 200 and download.get_data() == PDF
    assert download.headers["Cache-Control"] == "private, no-store"
    download.close()
    entry = fresh(article.id).files[1]
    page = client.get(file_url(fresh(article.id), entry))  # the article page's own link: same file
    assert page.status_code == 200 and page.get_data() == PDF
    page.close()


def test_the_list_is_paginated(client, desk):
    article = write(desk.tech_it, desk.it, "Printers")
    for number in range(3):
        attach(desk.tech_it, article, name=f"p{number}.png", key=f"key-{number}")
    db.session.commit()
    headers = bearer(desk.tech_it)
    first = client.get(f"/api/v1/kb/articles/{article.id}/files?limit=2", headers=headers).get_json()
    assert [f["filename"] for f in first["items"]] == ["p0.png", "p1.png"] and first["next"]
    second = client.get(first["next"], headers=headers).get_json()
    assert [f["filename"] for f in second["items"]] == ["p2.png"] and second["next"] is None


def test_refused_files_add_nothing_and_each_is_named(client, desk):
    article = write(desk.tech_it, desk.it, "Scanner")
    db.session.commit()
    before = _stored()
    headers = bearer(desk.tech_it)
    address = f"/api/v1/kb/articles/{article.id}/files"
    sent = _files(address, headers, ("good.png", PNG), ("tool.exe", b"MZ..."), ("fake.png", b"not an image"))
    refused = client.post(address, **sent)
    assert is_problem(refused, 422)
    messages = [(e["field"], e["message"]) for e in refused.get_json()["errors"]]
    assert [field for field, _ in messages] == ["files", "files"]
    assert "tool.exe: files of type .exe are not accepted" in messages[0][1]
    assert "fake.png: the content is not a valid .png file" in messages[1][1]
    assert fresh(article.id).files == [] and _stored() == before  # the good one was not kept either
    empty = client.post(address, **_files(address, headers))
    assert is_problem(empty, 422) and empty.get_json()["errors"][0]["field"] == "files"
    as_json = client.post(address, json={"files": []}, headers=headers)
    assert is_problem(as_json, 415) and "multipart/form-data" in as_json.get_json()["detail"]
    extra = client.post(address, **_files(address, headers, ("a.png", PNG), colour="red"))
    assert is_problem(extra, 422) and extra.get_json()["errors"][0]["field"] == "colour"
    elsewhere = client.post(
        address,
        data={"picture": (io.BytesIO(PNG), "a.png")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert is_problem(elsewhere, 422) and elsewhere.get_json()["errors"][0]["field"] == "picture"
    assert fresh(article.id).files == []


def test_the_editors_limits_apply(client, desk, app, monkeypatch):
    article = write(desk.tech_it, desk.it, "Laptops")
    attach(desk.tech_it, article)
    db.session.commit()
    headers = bearer(desk.tech_it)
    address = f"/api/v1/kb/articles/{article.id}/files"
    monkeypatch.setattr(files, "MAX_FILES", 2)  # per article
    full = client.post(address, **_files(address, headers, ("a.png", PNG), ("b.png", PNG)))
    assert (
        is_problem(full, 422)
        and "An article has at most 2 files: b.png not added." in full.get_json()["detail"]
    )
    monkeypatch.setitem(app.config, "UPLOAD_MAX_FILES", 1)  # at once
    many = client.post(address, **_files(address, headers, ("a.png", PNG), ("b.png", PNG)))
    assert is_problem(many, 422) and "at most 1 files can be sent at once" in many.get_json()["detail"]
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_BYTES", 32)  # each
    large = client.post(address, **_files(address, headers, ("a.png", PNG)))
    assert is_problem(large, 422) and "a.png: larger than" in large.get_json()["detail"]
    assert len(fresh(article.id).files) == 1


@pytest.mark.parametrize("role", ["tech_sales", "requester"])
def test_whoever_may_not_edit_gets_404_and_readers_only_of_what_they_read(client, desk, role):
    public = write(desk.tech_it, desk.it, "Reset your password")
    draft = write(desk.tech_it, desk.it, "Unfinished", status="draft")
    entry = attach(desk.tech_it, public)
    hidden = attach(desk.tech_it, draft, key="other-key")
    db.session.commit()
    headers = bearer(getattr(desk, role))
    base = "/api/v1/kb/articles"
    assert client.get(f"{base}/{public.id}/files", headers=headers).status_code == 200  # they may read it
    for article, item in ((public, entry), (draft, hidden)):
        address = f"{base}/{article.id}/files"
        assert is_problem(client.post(address, **_files(address, headers, ("a.png", PNG))), 404)
        assert is_problem(client.delete(f"{address}/{item.id}", headers=headers), 404)
    assert is_problem(client.get(f"{base}/{draft.id}/files", headers=headers), 404)
    assert is_problem(client.get(f"{base}/{draft.id}/files/{hidden.id}", headers=headers), 404)
    assert is_problem(
        client.get(f"{base}/{public.id}/files/{hidden.id}", headers=headers), 404
    )  # not its file
    assert len(fresh(public.id).files) == 1 and len(fresh(draft.id).files) == 1


def test_an_editor_removes_a_file_and_its_stored_bytes(client, desk):
    article = write(desk.tech_it, desk.it, "Phones")
    other = write(desk.tech_it, desk.it, "Tablets")
    entry, elsewhere = attach(desk.tech_it, article), attach(desk.tech_it, other, key="other-key")
    db.session.commit()
    stored = entry.attachment.storage_name
    assert stored in _stored()
    headers = bearer(desk.admin)
    address = f"/api/v1/kb/articles/{article.id}/files"
    assert is_problem(client.delete(f"{address}/{elsewhere.id}", headers=headers), 404)  # not this article's
    removed = client.delete(f"{address}/{entry.id}", headers=headers)
    assert removed.status_code == 204 and not removed.get_data()
    assert fresh(article.id).files == [] and stored not in _stored()
    assert client.get(address, headers=headers).get_json()["items"] == []
    assert is_problem(client.delete(f"{address}/{entry.id}", headers=headers), 404)
    assert len(fresh(other.id).files) == 1


def test_files_need_their_scopes(client, desk):
    article = write(desk.tech_it, desk.it, "Mail")
    entry = attach(desk.tech_it, article)
    db.session.commit()
    address = f"/api/v1/kb/articles/{article.id}/files"
    reading = bearer(desk.tech_it, scopes=["kb:read"])
    refused = client.post(address, **_files(address, reading, ("a.png", PNG)))
    assert is_problem(refused, 403) and "kb:write" in refused.get_json()["detail"]
    assert is_problem(client.delete(f"{address}/{entry.id}", headers=reading), 403)
    tickets_only = bearer(desk.tech_it, scopes=["tickets:read"])
    assert is_problem(client.get(address, headers=tickets_only), 403)
    assert is_problem(client.get(f"{address}/{entry.id}", headers=tickets_only), 403)
    assert len(fresh(article.id).files) == 1


def test_a_retried_upload_with_its_idempotency_key_adds_the_files_once(client, desk):
    article = write(desk.tech_it, desk.it, "Wi-Fi")
    db.session.commit()
    headers = bearer(desk.tech_it) | {"Idempotency-Key": "upload-1"}
    address = f"/api/v1/kb/articles/{article.id}/files"
    first = client.post(address, **_files(address, headers, ("wifi.png", PNG)))
    again = client.post(address, **_files(address, headers, ("wifi.png", PNG)))
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and len(fresh(article.id).files) == 1
