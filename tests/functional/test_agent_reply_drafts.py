"""Agents' reply drafts (issue 16 item 6): saved on the server while typing, given back in the reply
box on reload, deleted when the reply or note is sent, their author's alone, expiring."""

import re
from datetime import timedelta

import pytest
import time_machine

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import reply_drafts
from helpdesk.tickets.models import Message, ReplyDraft

from .agent_support import HTMX


def page_url(ticket):
    return f"/agent/tickets/{ticket.id}"


def save(client, ticket, body, key=""):
    return client.post(
        f"{page_url(ticket)}/draft", data={"reply-body": body, "reply-submission_key": key}, headers=HTMX
    )


def reply_box(client, ticket):
    """The reply box's text as the page shows it."""
    html = client.get(page_url(ticket)).get_data(as_text=True)
    return re.search(r'<textarea id="reply-body"[^>]*>\n(.*?)</textarea>', html, re.S).group(1)


def drafts():
    db.session.expire_all()
    return db.session.query(ReplyDraft).all()


def test_the_reply_box_saves_itself_a_second_after_typing(client, login, desk):
    login(desk.tech_it)
    html = client.get(page_url(desk.it_ticket)).get_data(as_text=True)
    box = re.search(r'<textarea id="reply-body"[^>]*>', html).group(0)
    assert f'hx-post="{page_url(desk.it_ticket)}/draft"' in box
    assert 'hx-trigger="input changed delay:1s"' in box


def test_a_draft_is_saved_and_given_back_on_reload(client, login, desk):
    login(desk.tech_it)
    assert reply_box(client, desk.it_ticket) == ""
    answer = save(client, desk.it_ticket, "Dear Alice, <b>the VPN</b>")
    assert answer.status_code == 200 and "Draft saved." in answer.get_data(as_text=True)
    save(client, desk.it_ticket, "Dear Alice, <b>the VPN</b> is back")  # the same draft, updated
    assert reply_box(client, desk.it_ticket) == "Dear Alice, &lt;b&gt;the VPN&lt;/b&gt; is back"
    assert len(drafts()) == 1
    save(client, desk.it_ticket, "   ")  # emptied: nothing to keep
    assert drafts() == [] and reply_box(client, desk.it_ticket) == ""


@pytest.mark.parametrize("action", ["reply", "note", "resolve"])
def test_sending_deletes_the_draft(client, login, desk, action):
    login(desk.tech_it)
    save(client, desk.it_ticket, "Rebooted the router")
    data = {"reply-body": "Rebooted the router", "reply-action": action, "reply-submission_key": "k-1"}
    sent = client.post(f"{page_url(desk.it_ticket)}/reply", data=data, headers=HTMX)
    assert sent.status_code == 200 and "Rebooted the router" in sent.get_data(as_text=True)
    assert drafts() == []
    assert reply_box(client, desk.it_ticket) == ""
    # The last keystrokes' save, overtaken by the sending, does not bring the draft back.
    save(client, desk.it_ticket, "Rebooted the router", key="k-1")
    assert drafts() == []


def test_a_refused_send_keeps_the_draft(client, login, desk):
    login(desk.tech_it)
    save(client, desk.it_ticket, "Half a thought")
    client.post(f"{page_url(desk.it_ticket)}/reply", data={"reply-body": "", "reply-action": "reply"})
    assert [d.body for d in drafts()] == ["Half a thought"]


def test_a_draft_is_its_authors_alone(client, login, desk, app):
    login(desk.tech_it)
    save(client, desk.it_ticket, "Ivan's private wording")
    ada = login(desk.admin, as_client=app.test_client())
    assert reply_box(ada, desk.it_ticket) == ""
    save(ada, desk.it_ticket, "Ada's own")
    assert reply_box(client, desk.it_ticket) == "Ivan&#39;s private wording"
    # Ada's sending deletes her draft only.
    ada.post(f"{page_url(desk.it_ticket)}/reply", data={"reply-body": "Ada's own", "reply-action": "note"})
    assert [d.user_id for d in drafts()] == [desk.tech_it.id]
    # An agent who may not see the ticket can neither save nor read one there.
    sara = login(desk.tech_sales, as_client=app.test_client())
    assert save(sara, desk.it_ticket, "peek").status_code == 404
    assert sara.get(page_url(desk.it_ticket)).status_code == 404


def test_a_draft_expires(client, login, desk):
    login(desk.tech_it)
    save(client, desk.it_ticket, "Old words")
    later = utcnow() + reply_drafts.REPLY_DRAFT_LIFETIME + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert reply_box(client, desk.it_ticket) == ""
        save(client, desk.it_ticket, "New words", key="other")  # any save deletes expired drafts
        save(client, desk.it_ticket, "")
        assert drafts() == []


def test_a_too_long_draft_is_refused_with_a_message(client, login, desk):
    login(desk.tech_it)
    answer = save(client, desk.it_ticket, "x" * (reply_drafts.MAX_BODY + 1))
    assert answer.status_code == 200 and "Too long to keep as a draft." in answer.get_data(as_text=True)
    assert drafts() == []


def test_without_javascript_the_form_just_posts(client, login, desk):
    login(desk.tech_it)
    sent = client.post(
        f"{page_url(desk.it_ticket)}/reply", data={"reply-body": "Plain post", "reply-action": "reply"}
    )
    assert sent.status_code == 302
    assert db.session.query(Message).filter_by(body="Plain post").count() == 1


def test_a_saved_draft_makes_the_browsers_copy_of_the_page_stale(client, login, desk):
    """A reload revalidates the page (conditional GET): the copy with the empty box is not reused."""
    login(desk.tech_it)
    etag = client.get(page_url(desk.it_ticket)).headers["ETag"]
    assert client.get(page_url(desk.it_ticket), headers={"If-None-Match": etag}).status_code == 304
    save(client, desk.it_ticket, "Kept for later")
    again = client.get(page_url(desk.it_ticket), headers={"If-None-Match": etag})
    assert again.status_code == 200 and "Kept for later" in again.get_data(as_text=True)


def test_any_save_deletes_every_expired_draft(client, login, desk, app):
    login(desk.tech_it)
    ada = login(desk.admin, as_client=app.test_client())
    save(ada, desk.it_ticket, "Ada's old words")
    later = utcnow() + reply_drafts.REPLY_DRAFT_LIFETIME + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        save(client, desk.it_ticket, "Ivan's new words")
        assert [(d.user_id, d.body) for d in drafts()] == [(desk.tech_it.id, "Ivan's new words")]


def note_box(client, ticket):
    html = client.get(page_url(ticket)).get_data(as_text=True)
    return re.search(r'<textarea id="note-body"[^>]*>\n(.*?)</textarea>', html, re.S).group(1)


def test_the_note_box_keeps_its_own_draft(client, login, desk):
    """The internal note box saves itself too, apart from the reply box: a reload gives each box
    its text back, and sending the note deletes only the note's draft."""
    login(desk.tech_it)
    html = client.get(page_url(desk.it_ticket)).get_data(as_text=True)
    assert f'hx-post="{page_url(desk.it_ticket)}/draft"' in re.search(
        r'<textarea id="note-body"[^>]*>', html
    ).group(0)
    save(client, desk.it_ticket, "Dear Alice, the VPN")
    answer = client.post(
        f"{page_url(desk.it_ticket)}/draft",
        data={"note-body": "Firewall logs at 10:02", "note-submission_key": "n-1"},
        headers=HTMX,
    )
    assert "Note draft saved." in answer.get_data(as_text=True)
    assert reply_box(client, desk.it_ticket) == "Dear Alice, the VPN"
    assert note_box(client, desk.it_ticket) == "Firewall logs at 10:02"
    assert sorted((d.kind, d.body) for d in drafts()) == [
        ("note", "Firewall logs at 10:02"),
        ("reply", "Dear Alice, the VPN"),
    ]
    sent = client.post(
        f"{page_url(desk.it_ticket)}/note",
        data={"note-body": "Firewall logs at 10:02", "note-submission_key": "n-1"},
        headers=HTMX,
    )
    assert "Internal note added." in sent.get_data(as_text=True)
    assert [(d.kind, d.body) for d in drafts()] == [("reply", "Dear Alice, the VPN")]
    assert (
        note_box(client, desk.it_ticket) == "" and reply_box(client, desk.it_ticket) == "Dear Alice, the VPN"
    )
    # The note's last keystrokes, overtaken by its sending, do not bring its draft back.
    client.post(
        f"{page_url(desk.it_ticket)}/draft",
        data={"note-body": "Firewall logs at 10:02", "note-submission_key": "n-1"},
        headers=HTMX,
    )
    assert [d.kind for d in drafts()] == ["reply"]


def _pending_draft(desk, kind, body, now):
    """Ivan's draft added to the session, not flushed."""
    draft = ReplyDraft(ticket_id=desk.it_ticket.id, user_id=desk.tech_it.id, kind=kind, body=body)
    draft.updated_at, draft.expires_at = now, now + timedelta(days=1)
    db.session.add(draft)


def test_a_draft_added_and_not_yet_flushed_is_read_back(desk):
    """The drafts are read on the session's connection (querying.column_rows, past the ORM):
    a change still pending in the session is flushed first, as session.execute would, so what
    a request has just changed is what it reads."""
    now = utcnow()
    _pending_draft(desk, "note", "Checked the firewall", now)
    assert reply_drafts.draft_bodies(desk.tech_it, desk.it_ticket.id, now=now) == {
        "note": "Checked the firewall"
    }
    with db.session.no_autoflush:  # and where the caller asked for no flush, none is made
        _pending_draft(desk, "reply", "Dear Alice", now)
        assert reply_drafts.draft_bodies(desk.tech_it, desk.it_ticket.id, now=now) == {
            "note": "Checked the firewall"
        }
