"""A long conversation on a ticket page (tickets/thread_window.py): the original message and the
latest THREAD_RECENT_MESSAGES messages; the earlier ones behind "Show the N earlier messages",
which shows them all and stays so while the agent or customer replies."""

import re

import pytest

from .agent_support import HTMX


@pytest.fixture
def window(app, monkeypatch):
    monkeypatch.setitem(app.config, "THREAD_RECENT_MESSAGES", 3)
    # The ticket page's ETag fingerprints the settings once per app (docs/decisions.md, "Tests"):
    # this one's own, so the patched value does not stay in later tests' ETags.
    monkeypatch.setitem(app.extensions, "helpdesk_deployment", ("test", "THREAD_RECENT_MESSAGES=3"))


@pytest.fixture
def long_ticket(desk, make, window):
    """The desk's IT ticket with six messages: five public ones (Reply 1..5) and, fourth, a note."""
    for n in (1, 2, 3):
        make.message(desk.it_ticket, desk.requester if n % 2 else desk.tech_it, body=f"Reply {n} here")
    make.message(desk.it_ticket, desk.tech_it, body="Private note here", internal=True)
    for n in (4, 5):
        make.message(desk.it_ticket, desk.requester if n % 2 else desk.tech_it, body=f"Reply {n} here")
    return desk.it_ticket


def shown(html):
    """The messages a page shows, in order: "Reply n" and "Private note"."""
    return re.findall(r"(Reply \d|Private note) here", html)


def test_an_agent_sees_the_latest_messages_and_a_link_to_the_earlier_ones(client, login, desk, long_ticket):
    login(desk.tech_it)
    html = client.get(f"/agent/tickets/{long_ticket.id}").get_data(as_text=True)
    assert "Something is broken." in html  # the original message always heads the conversation
    assert shown(html) == ["Private note", "Reply 4", "Reply 5"]
    link = f'href="/agent/tickets/{long_ticket.id}?thread=all#conversation"'
    assert link in html and "Show the 3 earlier messages" in html
    whole = client.get(f"/agent/tickets/{long_ticket.id}?thread=all").get_data(as_text=True)
    assert shown(whole) == ["Reply 1", "Reply 2", "Reply 3", "Private note", "Reply 4", "Reply 5"]
    assert "earlier message" not in whole


def test_a_desk_that_never_folds_shows_every_message(app, client, login, desk, long_ticket, monkeypatch):
    monkeypatch.setitem(app.config, "THREAD_RECENT_MESSAGES", 0)  # 0: never folded
    monkeypatch.setitem(app.extensions, "helpdesk_deployment", ("test", "THREAD_RECENT_MESSAGES=0"))
    login(desk.tech_it)
    html = client.get(f"/agent/tickets/{long_ticket.id}").get_data(as_text=True)
    assert len(shown(html)) == 6 and "earlier message" not in html
    login(desk.requester)
    assert len(shown(client.get(f"/portal/tickets/{long_ticket.id}").get_data(as_text=True))) == 5


def test_a_short_conversation_has_no_link(client, login, desk, make, window):
    make.message(desk.it_ticket, desk.requester, body="Reply 1 here")
    login(desk.tech_it)
    html = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert shown(html) == ["Reply 1"] and "earlier message" not in html


def test_replying_in_the_whole_conversation_keeps_it_whole(client, login, desk, long_ticket):
    login(desk.tech_it)
    url = f"/agent/tickets/{long_ticket.id}"
    whole = client.get(f"{url}?thread=all").get_data(as_text=True)
    assert '<input type="hidden" name="thread" value="all">' in whole  # in the reply and note forms
    answer = client.post(
        f"{url}/reply",
        data={"reply-body": "Reply 6 here", "reply-action": "reply", "thread": "all"},
        headers=HTMX,
    ).get_data(as_text=True)
    assert shown(answer) == ["Reply 1", "Reply 2", "Reply 3", "Private note", "Reply 4", "Reply 5", "Reply 6"]
    note = client.post(
        f"{url}/note", data={"note-body": "Reply 7 here", "thread": "all"}, headers=HTMX
    ).get_data(as_text=True)
    assert len(shown(note)) == 8
    # Without JavaScript the reply redirects back to the whole conversation.
    response = client.post(
        f"{url}/reply", data={"reply-body": "Reply 8 here", "reply-action": "reply", "thread": "all"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{url}?thread=all#conversation")
    # From the folded page, a reply folds again: the new message is among the latest.
    folded = client.post(
        f"{url}/reply", data={"reply-body": "Reply 9 here", "reply-action": "reply"}, headers=HTMX
    ).get_data(as_text=True)
    assert shown(folded) == ["Reply 7", "Reply 8", "Reply 9"] and "Show the 7 earlier messages" in folded


def test_the_change_notice_of_a_whole_conversation_shows_it_whole(client, login, desk, long_ticket, app):
    login(desk.tech_it)
    url = f"/agent/tickets/{long_ticket.id}"
    html = client.get(f"{url}?thread=all").get_data(as_text=True)
    assert 'id="live-thread" name="thread" value="all"' in html
    assert 'hx-include="#live-seen-version, #live-seen-message, #live-thread"' in html
    seen = {
        "seen_version": re.search(r'name="seen_version" value="(\d+)"', html).group(1),
        "seen_message": re.search(r'name="seen_message" value="(\d+)"', html).group(1),
    }
    ada = login(desk.admin, as_client=app.test_client())
    ada.post(f"{url}/reply", data={"reply-body": "Reply 6 here", "reply-action": "reply"})
    notice = client.post(f"{url}/presence", data={**seen, "thread": "all"}, headers=HTMX).get_data(
        as_text=True
    )
    assert f'hx-get="{url}?thread=all"' in notice
    folded = client.post(f"{url}/presence", data=seen, headers=HTMX).get_data(as_text=True)
    assert f'hx-get="{url}"' in folded


def test_a_customer_counts_only_what_they_may_read(client, login, desk, long_ticket):
    login(desk.requester)
    html = client.get(f"/portal/tickets/{long_ticket.id}").get_data(as_text=True)
    assert "Private note" not in html
    assert shown(html) == ["Reply 3", "Reply 4", "Reply 5"] and "Show the 2 earlier messages" in html
    whole = client.get(f"/portal/tickets/{long_ticket.id}?thread=all").get_data(as_text=True)
    assert shown(whole) == ["Reply 1", "Reply 2", "Reply 3", "Reply 4", "Reply 5"]
    assert "Private note" not in whole and "earlier message" not in whole
    answer = client.post(
        f"/portal/tickets/{long_ticket.id}/reply",
        data={"body": "Reply 6 here", "thread": "all"},
        headers=HTMX,
    ).get_data(as_text=True)
    assert len(shown(answer)) == 6
    response = client.post(
        f"/portal/tickets/{long_ticket.id}/reply", data={"body": "Reply 7 here", "thread": "all"}
    )
    assert response.headers["Location"].endswith(f"/portal/tickets/{long_ticket.id}?thread=all#conversation")


def test_a_folded_page_lists_only_the_files_it_shows(client, login, desk, make, long_ticket):
    """The description's files and those of the latest messages; the earlier messages' files come
    with them. (Both pages now read only these files; this checks what they show.)"""
    import uuid

    from helpdesk.extensions import db
    from helpdesk.tickets.models import Attachment, Message

    def attach(message_id, name):
        db.session.add(
            Attachment(
                ticket_id=long_ticket.id,
                message_id=message_id,
                filename=name,
                storage_name=uuid.uuid4().hex,
                content_type="text/plain",
                size=3,
                sha256="0" * 64,
            )
        )

    bodies = dict(
        db.session.execute(
            db.select(Message.body, Message.id).where(Message.ticket_id == long_ticket.id)
        ).all()
    )
    attach(None, "description-log.txt")
    attach(bodies["Reply 1 here"], "early-log.txt")
    attach(bodies["Reply 5 here"], "late-log.txt")
    db.session.flush()
    for user, url in (
        (desk.tech_it, f"/agent/tickets/{long_ticket.id}"),
        (desk.requester, f"/portal/tickets/{long_ticket.id}"),
    ):
        login(user)
        folded = client.get(url).get_data(as_text=True)
        assert "description-log.txt" in folded and "late-log.txt" in folded and "early-log.txt" not in folded
        whole = client.get(f"{url}?thread=all").get_data(as_text=True)
        assert all(name in whole for name in ("description-log.txt", "early-log.txt", "late-log.txt"))
