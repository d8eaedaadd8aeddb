"""The ticket page's internal-note box (issue 16 item 3, `n`): a form of its own beside the reply's,
working without JavaScript; what it sends only agents see; the reply box's draft and text stay."""

import re

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.notices.models import Notice
from helpdesk.tickets.models import Message, ReplyDraft

from .agent_support import HTMX


def page_url(ticket):
    return f"/agent/tickets/{ticket.id}"


def messages(ticket):
    db.session.expire_all()
    return db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
    ).all()


def box(html, name):
    return re.search(rf'<textarea id="{name}-body"[^>]*>\n(.*?)</textarea>', html, re.S).group(1)


def test_the_page_has_a_note_form_apart_from_the_reply_form(client, login, desk):
    login(desk.tech_it)
    html = client.get(page_url(desk.it_ticket)).get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    by_action = {action: body for action, body in forms}
    reply_form = by_action[f"{page_url(desk.it_ticket)}/reply"]
    note_form = by_action[f"{page_url(desk.it_ticket)}/note"]
    assert 'id="reply-body"' in reply_form and 'id="note-body"' not in reply_form
    assert "Add internal note" not in reply_form  # no note one wrong button away from the customer
    assert '<label for="note-body">Internal note</label>' in note_form
    assert 'name="note-csrf_token"' in note_form and "Add internal note" in note_form
    handle = desk.tech_it.email.split("@")[0].lower()
    assert f"start of a colleague's e-mail address (yours: <code>@{handle}</code>)" in note_form


def test_a_note_without_javascript_is_internal_and_the_customer_never_sees_it(client, login, desk):
    login(desk.tech_it)
    sent = client.post(
        f"{page_url(desk.it_ticket)}/note",
        data={"note-body": "Their firewall blocks UDP 500", "note-submission_key": "n1"},
    )
    assert sent.status_code == 302 and sent.headers["Location"].endswith(
        f"{page_url(desk.it_ticket)}#conversation"
    )
    assert [(m.body, m.internal) for m in messages(desk.it_ticket)] == [
        ("Their firewall blocks UDP 500", True)
    ]
    assert "Internal note added." in client.get(sent.headers["Location"]).get_data(as_text=True)
    # The same form sent again (double click) adds nothing.
    client.post(
        f"{page_url(desk.it_ticket)}/note",
        data={"note-body": "Their firewall blocks UDP 500", "note-submission_key": "n1"},
    )
    assert len(messages(desk.it_ticket)) == 1

    for viewer in (desk.requester, desk.subscriber):
        login(viewer)
        page = client.get(f"/portal/tickets/{desk.it_ticket.id}").get_data(as_text=True)
        assert "VPN drops" in page and "UDP 500" not in page


def test_an_empty_note_says_so_and_sends_nothing(client, login, desk):
    login(desk.tech_it)
    answer = client.post(f"{page_url(desk.it_ticket)}/note", data={"note-body": "  "}, headers=HTMX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="note-body-errors"' in html
    assert re.search(r'id="note-body-errors"><li>Write a message before sending\.</li>', html)
    assert 'id="reply-body-errors"' not in html  # said under the note box, not the reply box
    assert messages(desk.it_ticket) == []


def test_a_note_keeps_the_reply_boxs_draft_and_text(client, login, desk):
    login(desk.tech_it)
    client.post(
        f"{page_url(desk.it_ticket)}/draft",
        data={"reply-body": "Dear Alice, half written", "reply-submission_key": "r1"},
        headers=HTMX,
    )
    # With JavaScript the note form brings the reply box along (hx-include): the swap keeps it.
    answer = client.post(
        f"{page_url(desk.it_ticket)}/note",
        data={
            "note-body": "Asked the network team",
            "reply-body": "Dear Alice, half written and more",
            "reply-submission_key": "r1",
        },
        headers=HTMX,
    )
    html = answer.get_data(as_text=True)
    assert "Internal note added." in html and "Asked the network team" in html
    assert box(html, "reply") == "Dear Alice, half written and more" and box(html, "note") == ""
    assert 'id="reply-submission_key" name="reply-submission_key" type="hidden" value="r1"' in html
    db.session.expire_all()
    assert [d.body for d in db.session.query(ReplyDraft).all()] == ["Dear Alice, half written"]
    # A reply sent afterwards keeps a note being written, and deletes the draft.
    answer = client.post(
        f"{page_url(desk.it_ticket)}/reply",
        data={"reply-body": "Dear Alice, fixed", "reply-action": "reply", "note-body": "next note"},
        headers=HTMX,
    )
    html = answer.get_data(as_text=True)
    assert "Reply sent." in html and box(html, "note") == "next note" and box(html, "reply") == ""
    db.session.expire_all()
    assert db.session.query(ReplyDraft).all() == []
    assert [(m.body, m.internal) for m in messages(desk.it_ticket)] == [
        ("Asked the network team", True),
        ("Dear Alice, fixed", False),
    ]


def test_a_mention_in_the_note_box_tells_that_agent(client, login, desk):
    login(desk.admin)
    client.post(f"{page_url(desk.it_ticket)}/note", data={"note-body": "@ivan can you look?"})
    db.session.expire_all()
    [notice] = db.session.scalars(select(Notice).where(Notice.user_id == desk.tech_it.id)).all()
    assert notice.kind == "mentioned"


def test_the_note_box_of_a_ticket_one_may_not_see_answers_404(client, login, desk):
    login(desk.tech_sales)
    assert client.post(f"{page_url(desk.it_ticket)}/note", data={"note-body": "peek"}).status_code == 404
    login(desk.requester)
    assert client.post(f"{page_url(desk.it_ticket)}/note", data={"note-body": "peek"}).status_code in (
        403,
        404,
    )
    assert messages(desk.it_ticket) == []
