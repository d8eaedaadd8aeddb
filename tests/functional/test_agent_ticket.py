"""The agent ticket page: conversation, replies and notes, inline edits, history, stale edits."""

import re
from datetime import timedelta

import pytest

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, TicketEvent

from .agent_support import HTMX, fresh


def edit(client, ticket_id, field, value, version, htmx=True):
    return client.post(
        f"/agent/tickets/{ticket_id}/{field}",
        data={f"{field}-value": value, f"{field}-version": version},
        headers=HTMX if htmx else {},
    )


def test_conversation_shows_notes_apart_from_replies(client, login, desk, make):
    make.message(desk.it_ticket, desk.requester, body="Still broken")
    make.message(desk.it_ticket, desk.tech_it, body="Check the router logs", internal=True)
    login(desk.tech_it)
    html = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "Still broken" in html and "Check the router logs" in html
    note = html[html.index('class="message message-internal"') :]
    assert "Internal note" in note[: note.index("</article>")] and "Check the router logs" in note
    for label in (
        "Status",
        "Priority",
        "Category",
        "Assignee",
        "Tags",
        "Add subscriber by e-mail",
        "Message",
    ):
        assert f">{label}</label>" in html


def test_reply_note_and_resolve(client, login, desk):
    login(desk.tech_it)
    url = f"/agent/tickets/{desk.it_ticket.id}/reply"
    response = client.post(url, data={"reply-body": "On it", "reply-action": "reply"})
    assert response.status_code == 302
    ticket = fresh(desk.it_ticket.id)
    assert ticket.status == "open" and ticket.first_response_at is not None
    client.post(url, data={"reply-body": "Router firmware", "reply-action": "note"})
    response = client.post(
        url, data={"reply-body": "Fixed, closing", "reply-action": "resolve"}, headers=HTMX
    )
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"Reply sent and ticket resolved." in response.data
    assert b'id="ticket-sidebar"' in response.data and b'hx-swap-oob="true"' in response.data
    ticket = fresh(desk.it_ticket.id)
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    messages = db.session.scalars(db.select(Message).order_by(Message.id)).all()
    assert [(m.body, m.internal) for m in messages] == [
        ("On it", False),
        ("Router firmware", True),
        ("Fixed, closing", False),
    ]


def test_empty_reply_is_refused_with_a_message(client, login, desk):
    login(desk.tech_it)
    response = client.post(
        f"/agent/tickets/{desk.it_ticket.id}/reply",
        data={"reply-body": "", "reply-action": "reply"},
        headers=HTMX,
    )
    assert response.status_code == 200 and b"Message is required." in response.data
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_inline_status_edit_confirms_and_records_history(client, login, desk):
    login(desk.tech_it)
    response = edit(client, desk.it_ticket.id, "status", "waiting", 1)
    assert response.status_code == 200 and b"<html" not in response.data
    assert response.data.lstrip().startswith(b'<aside id="ticket-sidebar"')
    assert "HX-Request" in response.headers["Vary"]
    assert b"Status saved: Waiting on customer." in response.data
    assert b"Ivan IT</strong> changed status from New to Waiting on customer" in response.data
    assert b'name="status-version" value="2"' in response.data  # every form carries the new one
    assert b'name="priority-version" value="2"' in response.data
    ticket = fresh(desk.it_ticket.id)
    assert ticket.status == "waiting" and ticket.version == 2
    event = db.session.scalar(db.select(TicketEvent).where(TicketEvent.field == "status"))
    assert (event.actor_id, event.old_value, event.new_value) == (desk.tech_it.id, "new", "waiting")


def test_a_status_change_sends_the_header_s_clock_along(client, login, desk):
    """The header's reply-by clock is replaced out of band with the sidebar: resolving an overdue
    ticket no longer leaves 'overdue' at the top of the page until a reload."""
    login(desk.tech_it)
    before = _summary(client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True))
    assert "reply due" in before
    response = edit(client, desk.it_ticket.id, "status", "resolved", 1)
    html = response.get_data(as_text=True)
    assert '<div id="ticket-summary" hx-swap-oob="true">' in html
    sent = _summary(html)
    assert "reply due" not in sent
    assert sent == _summary(client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True))


def _summary(html):
    return re.search(r'<p class="ticket-summary" hx-disable>(.*?)</p>', html, re.S)[1]


def test_without_javascript_an_edit_redirects_with_a_flash(client, login, desk):
    login(desk.tech_it)
    response = edit(client, desk.it_ticket.id, "status", "open", 1, htmx=False)
    assert response.status_code == 302
    assert b"Status saved: Open." in client.get(response.location).data


def test_same_value_changes_nothing(client, login, desk):
    login(desk.tech_it)
    response = edit(client, desk.it_ticket.id, "status", "new", 1)
    assert b"Status unchanged." in response.data
    assert fresh(desk.it_ticket.id).version == 1
    assert db.session.scalar(db.select(db.func.count(TicketEvent.id))) == 0


def test_stale_edit_is_refused_and_shows_the_current_value(client, login, desk):
    login(desk.tech_it)
    assert (
        edit(client, desk.it_ticket.id, "status", "waiting", 1).status_code == 200
    )  # another agent, v1 -> v2
    response = edit(client, desk.it_ticket.id, "status", "resolved", 1, htmx=False)  # based on v1
    assert response.status_code == 409
    assert "Someone else changed this ticket" in response.get_data(as_text=True)
    assert "Status is now “Waiting on customer”; your change was not saved." in response.get_data(
        as_text=True
    )
    assert fresh(desk.it_ticket.id).status == "waiting"
    htmx = edit(client, desk.it_ticket.id, "priority", desk.ref.priorities["High"].id, 1)
    assert htmx.status_code == 200 and "Priority is now “Normal”" in htmx.get_data(as_text=True)
    assert b'name="priority-version" value="2"' in htmx.data  # reload-free retry possible
    assert fresh(desk.it_ticket.id).priority.name == "Normal"


def test_technician_moves_only_to_permitted_categories(client, login, desk):
    login(desk.tech_it)
    response = edit(client, desk.it_ticket.id, "category", desk.sales.id, 1)
    assert "You may not move tickets to Sales." in response.get_data(as_text=True)
    assert fresh(desk.it_ticket.id).category.name == "IT"
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    category_select = page[
        page.index('id="category-value"') : page.index("</select>", page.index('id="category-value"'))
    ]
    assert "Billing" in category_select and "Sales" not in category_select
    login(desk.admin)
    edit(client, desk.it_ticket.id, "category", desk.sales.id, 1)
    assert fresh(desk.it_ticket.id).category.name == "Sales"


def test_moving_away_unassigns_an_agent_not_permitted_there(client, login, desk):
    login(desk.admin)
    edit(client, desk.it_ticket.id, "assignee", desk.tech_it.id, 1)
    edit(client, desk.it_ticket.id, "category", desk.sales.id, 2)
    ticket = fresh(desk.it_ticket.id)
    assert ticket.category.name == "Sales" and ticket.assignee_id is None


def test_a_ticket_open_again_leaves_an_assignee_who_may_no_longer_work_it(client, login, desk, make):
    """A resolved ticket keeps who worked it when they are deactivated; once the customer writes
    again it is back in "Unassigned" (it stayed on the deactivated agent, who hears of nothing), as
    is one an agent reopens after its assignee lost the category."""
    from helpdesk.accounts import permissions, users

    login(desk.admin)
    edit(client, desk.it_ticket.id, "assignee", desk.tech_it.id, 1)
    edit(client, desk.it_ticket.id, "status", "resolved", 2)
    users.set_active(desk.admin, desk.tech_it, False)
    db.session.commit()
    assert fresh(desk.it_ticket.id).assignee_id == desk.tech_it.id  # resolved: kept, as designed
    login(desk.requester)
    client.post(f"/portal/tickets/{desk.it_ticket.id}/reply", data={"body": "It dropped again"})
    ticket = fresh(desk.it_ticket.id)
    assert ticket.status == "open" and ticket.assignee_id is None
    login(desk.admin)
    assert "VPN drops" in client.get("/agent/?assignee=unassigned").get_data(as_text=True)
    history = client.get(f"/agent/tickets/{desk.it_ticket.id}/history").get_data(as_text=True)
    assert "changed assignee from Ivan IT to none" in history

    other = make.technician(desk.it, name="Olga Other", email="olga@example.com")
    edit(client, desk.it_ticket.id, "assignee", other.id, ticket.version)
    edit(client, desk.it_ticket.id, "status", "closed", ticket.version + 1)
    permissions.set_permission(desk.admin, other, desk.it, False)
    db.session.commit()
    edit(client, desk.it_ticket.id, "status", "open", ticket.version + 2)
    ticket = fresh(desk.it_ticket.id)
    assert ticket.status == "open" and ticket.assignee_id is None


def test_a_closed_ticket_shows_the_assignee_it_kept_after_they_were_deactivated(client, login, desk):
    """The assignee select had no option for them and showed "Unassigned"; sent back unchanged,
    it changes nothing (it was refused as "Choose one of the listed agents.")."""
    from helpdesk.accounts import users

    login(desk.admin)
    edit(client, desk.it_ticket.id, "assignee", desk.tech_it.id, 1)
    edit(client, desk.it_ticket.id, "status", "closed", 2)
    users.set_active(desk.admin, desk.tech_it, False)
    db.session.commit()
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    select = page[
        page.index('id="assignee-value"') : page.index("</select>", page.index('id="assignee-value"'))
    ]
    assert f'<option selected value="{desk.tech_it.id}">Ivan IT (may not be assigned now)</option>' in select
    text = edit(client, desk.it_ticket.id, "assignee", desk.tech_it.id, 3).get_data(as_text=True)
    assert "Assignee unchanged." in text and fresh(desk.it_ticket.id).assignee_id == desk.tech_it.id
    text = edit(client, desk.it_ticket.id, "assignee", desk.customer.id, 3).get_data(as_text=True)
    assert "Choose one of the listed agents." in text  # anyone else is still refused
    edit(client, desk.it_ticket.id, "assignee", desk.admin.id, 3)
    assert fresh(desk.it_ticket.id).assignee_id == desk.admin.id


def test_assign_only_agents_permitted_for_the_category(client, login, desk):
    login(desk.tech_it)
    response = edit(client, desk.it_ticket.id, "assignee", desk.tech_sales.id, 1)
    assert "Sara Sales cannot work tickets in IT." in response.get_data(as_text=True)
    for refused in (desk.subscriber, desk.customer):  # not agents: a hand-made POST learns no name
        text = edit(client, desk.it_ticket.id, "assignee", refused.id, 1).get_data(as_text=True)
        assert "Choose one of the listed agents." in text and "cannot work tickets" not in text
    assert "Carl Customer" not in text
    assert fresh(desk.it_ticket.id).assignee_id is None
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    options = page[
        page.index('id="assignee-value"') : page.index("</select>", page.index('id="assignee-value"'))
    ]
    assert "Ivan IT" in options and "Ada Admin" in options and "Sara Sales" not in options
    edit(client, desk.it_ticket.id, "assignee", desk.admin.id, 1)
    assert fresh(desk.it_ticket.id).assignee_id == desk.admin.id
    edit(client, desk.it_ticket.id, "assignee", "", 2)
    assert fresh(desk.it_ticket.id).assignee_id is None


def test_priority_change_moves_the_due_time(client, login, desk):
    """Raising: due within the new target from now (never later than before); lowering: never earlier."""
    login(desk.tech_it)
    urgent, low = desk.ref.priorities["Urgent"], desk.ref.priorities["Low"]
    before = utcnow()
    edit(client, desk.it_ticket.id, "priority", urgent.id, 1)
    ticket = fresh(desk.it_ticket.id)
    assert ticket.priority.name == "Urgent"
    target = timedelta(minutes=urgent.response_minutes)
    assert before + target <= ticket.due_at <= utcnow() + target
    urgent_due = ticket.due_at
    edit(client, desk.it_ticket.id, "priority", low.id, 2)
    ticket = fresh(desk.it_ticket.id)
    assert ticket.due_at == max(urgent_due, ticket.created_at + timedelta(minutes=low.response_minutes))


def test_tags_are_normalised_and_filterable(client, login, desk):
    login(desk.tech_it)
    response = edit(client, desk.it_ticket.id, "tags", " VPN,  remote  work, vpn,", 1)
    assert b"Tags saved: remote work, vpn." in response.data
    assert sorted(fresh(desk.it_ticket.id).tag_names) == ["remote work", "vpn"]
    edit(client, desk.it_ticket.id, "tags", "vpn", 2)
    assert fresh(desk.it_ticket.id).tag_names == ["vpn"]
    assert b"VPN drops" in client.get("/agent/?tag=vpn").data
    too_long = edit(client, desk.it_ticket.id, "tags", "x" * 51, 3)
    assert b"Tags are at most 50 characters." in too_long.data


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain form"])
def test_refused_tags_come_back_as_typed_with_the_message(client, login, desk, htmx):
    """A refused edit loses nothing: the tags field shows what was typed, beside why it was
    refused (it showed the ticket's old tags, and the typing was gone)."""
    login(desk.tech_it)
    typed = "printer, " + "x" * 51
    response = edit(client, desk.it_ticket.id, "tags", typed, 1, htmx=htmx)
    html = response.get_data(as_text=True)
    assert "Tags are at most 50 characters." in html
    field = re.search(r'<input[^>]*id="tags-value"[^>]*>', html).group(0)
    assert f'value="{typed}"' in field and 'aria-invalid="true"' in field
    assert fresh(desk.it_ticket.id).tag_names == []
    other = re.search(
        r'<input[^>]*id="tags-value"[^>]*>',
        client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True),
    )
    assert 'value=""' in other.group(0)  # the page itself shows the ticket's tags again


def test_malformed_edit_is_refused_without_change(client, login, desk):
    login(desk.tech_it)
    response = edit(client, desk.it_ticket.id, "status", "exploded", 1)
    assert response.status_code == 200
    assert "Status: choose one of the listed options." in response.get_data(as_text=True)
    # without the version its page showed (hand-made, or a page of an older release)
    for version in ({}, {"status-version": "two"}):
        response = client.post(
            f"/agent/tickets/{desk.it_ticket.id}/status",
            data={"status-value": "open", **version},
            headers=HTMX,
        )
        page = response.get_data(as_text=True)
        assert "This page is out of date: reload the ticket and make the change again." in page
        assert "field is required" not in page and "Version" not in page
    assert fresh(desk.it_ticket.id).status == "new"


def test_a_resent_reply_form_adds_one_message(client, login, desk):
    login(desk.tech_it)
    data = {"reply-body": "Rebooted the router", "reply-action": "resolve", "reply-submission_key": "k-1"}
    for _ in range(2):
        assert client.post(f"/agent/tickets/{desk.it_ticket.id}/reply", data=data).status_code == 302
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1
    assert fresh(desk.it_ticket.id).status == "resolved"


def test_the_sidebar_shows_recent_changes_and_the_history_page_has_them_all(client, login, desk):
    ticket = desk.it_ticket
    start = utcnow() - timedelta(days=1)
    for n in range(1, 46):  # 45 tag changes, the newest last
        db.session.add(
            TicketEvent(
                ticket_id=ticket.id, actor_id=desk.tech_it.id, field="tags", old_value="", new_value=f"t{n}",
                created_at=start + timedelta(minutes=n),
            )
        )  # fmt: skip
    db.session.commit()
    login(desk.tech_it)
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    sidebar = re.findall(r"to t(\d+)", html)
    assert sidebar == [str(n) for n in range(45, 25, -1)]  # the latest 20, newest first
    assert f'<a href="/agent/tickets/{ticket.id}/history">All changes to ticket #{ticket.id}</a>' in html

    first = client.get(f"/agent/tickets/{ticket.id}/history").get_data(as_text=True)
    assert "45 changes, newest first." in first
    assert re.findall(r"to t(\d+)", first) == [str(n) for n in range(45, 20, -1)]  # 25 a page
    assert f'href="/agent/tickets/{ticket.id}/history?page=2"' in first
    second = client.get(f"/agent/tickets/{ticket.id}/history?page=2").get_data(as_text=True)
    assert re.findall(r"to t(\d+)", second) == [str(n) for n in range(20, 0, -1)]


def test_a_short_history_has_no_link_to_more(client, login, desk):
    login(desk.tech_it)
    assert edit(client, desk.it_ticket.id, "status", "open", 1).status_code == 200
    html = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "changed status from New to Open" in html and "All changes to ticket" not in html
