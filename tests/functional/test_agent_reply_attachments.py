"""Agent replies and internal notes with attachments: the portal's upload checks, files kept on errors."""

import io

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.tickets.models import Attachment, Message

from .agent_support import HTMX

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def post_reply(client, ticket_id, body, files, action="reply", key="agent-key-1", htmx=True, extra=None):
    data = {
        "reply-body": body,
        "reply-action": action,
        "reply-submission_key": key,
        "reply-attachments": [(io.BytesIO(content), name) for name, content in files],
        **(extra or {}),
    }
    return client.post(
        f"/agent/tickets/{ticket_id}/reply",
        data=data,
        content_type="multipart/form-data",
        headers=HTMX if htmx else {},
    )


def download_status(client, item):
    response = client.get(f"/attachments/{item.id}/{item.filename}")
    response.close()  # send_file keeps the file open until the response is closed
    return response.status_code


def attachments():
    return db.session.scalars(select(Attachment).order_by(Attachment.id)).all()


def test_reply_form_accepts_files(client, login, desk):
    login(desk.tech_it)
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'hx-encoding="multipart/form-data"' in page
    assert '<label for="reply-attachments">Attach files</label>' in page


def test_reply_with_files_attaches_them_to_the_message(client, login, desk):
    login(desk.tech_it)
    response = post_reply(
        client, desk.it_ticket.id, "Logs attached.", [("router.log", b"up\n"), ("shot.png", PNG)]
    )
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"Reply sent." in response.data
    message = db.session.scalar(select(Message))
    assert sorted(a.filename for a in message.attachments) == ["router.log", "shot.png"]
    assert all(a.ticket_id == desk.it_ticket.id and a.staging_key is None for a in attachments())
    assert b"router.log" in response.data  # listed under the message
    login(desk.requester)  # a public reply's file is the customer's to download
    item = attachments()[0]
    assert download_status(client, item) == 200


def test_note_attachments_stay_internal(client, login, desk):
    login(desk.tech_it)
    post_reply(client, desk.it_ticket.id, "Internal dump.", [("dump.txt", b"secret\n")], action="note")
    item = attachments()[0]
    assert item.message.internal
    assert download_status(client, item) == 200
    login(desk.requester)
    assert download_status(client, item) == 404


def test_rejected_file_sends_nothing_and_keeps_the_good_ones(client, login, desk):
    login(desk.tech_it)
    response = post_reply(
        client, desk.it_ticket.id, "See attached.", [("notes.txt", b"fine\n"), ("tool.exe", b"MZ")]
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "tool.exe: files of type .exe are not accepted" in html
    assert "Files kept from your last attempt" in html and "notes.txt" in html
    assert db.session.scalar(select(db.func.count(Message.id))) == 0
    # Resent without the bad file: the kept file goes with the reply.
    response = post_reply(client, desk.it_ticket.id, "See attached.", [])
    assert b"Reply sent." in response.data
    message = db.session.scalar(select(Message))
    assert [a.filename for a in message.attachments] == ["notes.txt"]


def test_files_are_kept_when_the_message_is_missing_and_can_be_removed(client, login, desk):
    login(desk.tech_it)
    response = post_reply(client, desk.it_ticket.id, "", [("a.txt", b"a\n"), ("b.txt", b"b\n")])
    assert b"Message is required." in response.data and b"a.txt" in response.data
    kept = {a.filename: a.id for a in attachments()}
    response = post_reply(client, desk.it_ticket.id, "Only b.", [], extra={"remove_staged": [kept["a.txt"]]})
    assert b"Reply sent." in response.data
    assert [a.filename for a in attachments()] == ["b.txt"]


def test_mismatched_content_is_refused(client, login, desk):
    login(desk.tech_it)
    response = post_reply(client, desk.it_ticket.id, "Picture.", [("fake.png", b"not a png")], htmx=False)
    assert response.status_code == 200
    assert b"fake.png: the content is not a valid .png file." in response.data
    assert attachments() == []


def test_resent_reply_adds_one_message_and_one_set_of_files(client, login, desk):
    login(desk.tech_it)
    post_reply(client, desk.it_ticket.id, "Once.", [("a.txt", b"a\n")], htmx=False)
    post_reply(client, desk.it_ticket.id, "Once.", [], htmx=False)  # double click: same key
    assert db.session.scalar(select(db.func.count(Message.id))) == 1
    assert [a.message_id is not None for a in attachments()] == [True]
