"""Bulk actions from the queue: each selected ticket checked on its own."""

import html

from helpdesk.extensions import db
from helpdesk.tickets.bulk import BulkResult

from .agent_support import HTMX, fresh


def bulk(client, selected, action, htmx=True, **values):
    return client.post(
        "/agent/bulk?status=all",
        data={"selected": selected, "action": action, **values},
        headers=HTMX if htmx else {},
    )


def test_bulk_assign_status_and_move(client, login, desk, make):
    other = make.ticket(subject="Printer", requester=desk.requester, category=desk.it,
                        priority=desk.ref.priorities["Low"])  # fmt: skip
    login(desk.tech_it)
    selected = [f"{desk.it_ticket.id}.1", f"{other.id}.1"]
    response = bulk(client, selected, "assign", assignee=desk.tech_it.id)
    assert response.status_code == 200 and b"<html" not in response.data
    assert response.data.lstrip().startswith(b'<section id="queue-table"')
    assert b"2 tickets updated." in response.data
    assert {fresh(t).assignee_id for t in (desk.it_ticket.id, other.id)} == {desk.tech_it.id}
    bulk(client, [f"{desk.it_ticket.id}.2", f"{other.id}.2"], "status", status="waiting")
    assert {fresh(t).status for t in (desk.it_ticket.id, other.id)} == {"waiting"}
    bulk(
        client,
        [f"{desk.it_ticket.id}.3", f"{other.id}.3"],
        "category",
        category=desk.ref.categories["Billing"].id,
    )
    assert {fresh(t).category.name for t in (desk.it_ticket.id, other.id)} == {"Billing"}


def test_a_ticket_selected_twice_is_changed_once_and_not_refused(client, login, desk):
    login(desk.tech_it)
    ticket = desk.it_ticket.id
    response = bulk(client, [f"{ticket}.1", f"{ticket}.1"], "status", status="waiting")
    text = response.get_data(as_text=True)
    assert "1 ticket updated." in text  # was "1 ticket updated, 1 not changed." and a refusal:
    assert "Someone else changed this ticket" not in text and "not changed" not in text
    assert fresh(ticket).status == "waiting" and fresh(ticket).version == 2


def test_bulk_checks_each_ticket(client, login, desk, make):
    login(desk.tech_it)
    response = bulk(client, [f"{desk.it_ticket.id}.1", f"{desk.sales_ticket.id}.1"], "status", status="open")
    html = response.get_data(as_text=True)
    assert "1 ticket updated, 1 not changed." in html and f"#{desk.sales_ticket.id}: not found" in html
    assert fresh(desk.sales_ticket.id).status == "new"
    response = bulk(client, [f"{desk.it_ticket.id}.2"], "category", category=desk.sales.id)
    assert "You may not move tickets to Sales." in response.get_data(as_text=True)
    response = bulk(client, [f"{desk.it_ticket.id}.2"], "assign", assignee=desk.tech_sales.id)
    assert f"Sara Sales cannot work tickets in IT (#{desk.it_ticket.id})." in response.get_data(as_text=True)
    assert fresh(desk.it_ticket.id).category.name == "IT" and fresh(desk.it_ticket.id).assignee_id is None


def test_assigning_someone_who_is_not_an_agent_names_nobody(client, login, desk, make):
    """A hand-made POST: a customer, a deactivated technician, an id that is nobody's or not a
    number are all "Choose one of the listed agents.", with or without JavaScript; no name shown."""
    gone = make.technician(desk.it, name="Gina Gone", email="gina@example.com")
    gone.active = False
    db.session.commit()
    login(desk.tech_it)
    selected = [f"{desk.it_ticket.id}.1"]
    for assignee, name in ((desk.customer.id, "Carl Customer"), (gone.id, "Gina Gone"), (999_999, None)):
        text = bulk(client, selected, "assign", assignee=assignee).get_data(as_text=True)
        assert "Choose one of the listed agents." in text and "cannot work tickets" not in text
        assert name is None or name not in text
        answer = bulk(client, selected, "assign", htmx=False, assignee=assignee)
        text = client.get(answer.location).get_data(as_text=True)
        assert "Choose one of the listed agents." in text and (name is None or name not in text)
    text = bulk(client, selected, "assign", assignee="abc").get_data(as_text=True)
    assert "Choose one of the listed agents." in text and "Choose an action." not in text
    text = bulk(client, selected, "status", status="exploded").get_data(as_text=True)
    assert "Choose one of the listed statuses." in text
    text = bulk(client, selected, "category", category="x").get_data(as_text=True)
    assert "Choose one of the listed categories." in text
    assert fresh(desk.it_ticket.id).version == 1 and fresh(desk.it_ticket.id).assignee_id is None


def test_bulk_refuses_rows_changed_since_the_page_was_loaded(client, login, desk):
    login(desk.tech_it)
    bulk(client, [f"{desk.it_ticket.id}.1"], "status", status="open")
    response = bulk(client, [f"{desk.it_ticket.id}.1"], "status", status="closed", confirmed_action="yes")
    assert "Someone else changed this ticket" in response.get_data(as_text=True)
    assert fresh(desk.it_ticket.id).status == "open"


def test_bulk_without_selection_or_action(client, login, desk):
    login(desk.tech_it)
    assert b"Select at least one ticket." in bulk(client, [], "status", status="open").data
    assert b"Choose an action." in bulk(client, [f"{desk.it_ticket.id}.1"], "explode").data
    assert fresh(desk.it_ticket.id).version == 1


def test_bulk_without_javascript_redirects_to_the_same_filters(client, login, desk):
    login(desk.tech_it)
    response = bulk(client, [f"{desk.it_ticket.id}.1"], "status", htmx=False, status="open")
    assert response.status_code == 302 and response.location.endswith("/agent/?status=all")
    assert b"1 ticket updated." in client.get(response.location).data
    assert db.session.get(type(desk.it_ticket), desk.it_ticket.id).status == "open"


def test_without_javascript_the_queue_lists_each_ticket_not_changed_and_why(client, login, desk, make):
    other = make.ticket(subject="Printer", requester=desk.requester, category=desk.it,
                        priority=desk.ref.priorities["Low"])  # fmt: skip
    login(desk.tech_it)
    selected = [f"{desk.it_ticket.id}.1", f"{desk.sales_ticket.id}.1", f"{other.id}.0"]  # other: stale
    answer = bulk(client, selected, "status", htmx=False, status="open")
    page = html.unescape(client.get(answer.location).get_data(as_text=True))
    assert "1 ticket updated, 2 not changed." in page
    assert f"<li>#{desk.sales_ticket.id}: not found</li>" in page
    assert f"<li>#{other.id}: Someone else changed this ticket while you were looking at it." in page
    assert fresh(desk.it_ticket.id).status == "open" and fresh(other.id).status == "new"
    again = html.unescape(client.get(answer.location).get_data(as_text=True))
    assert "not found" not in again  # said once


def test_the_reasons_group_tickets_refused_alike_and_stop_before_the_session_cookie_is_full():
    result = BulkResult(changed=[1], refused=[(2, "not found"), (3, "Closed."), (4, "not found")])
    assert result.reasons() == ["#2, #4: not found", "#3: Closed."]
    many = BulkResult(refused=[(i, f"Reason {i} " + "x" * 100) for i in range(1, 101)])
    lines = many.reasons(1500)
    assert len("".join(lines)) < 1600 and lines[0].startswith("#1: Reason 1 ")
    assert lines[-1] == f"{100 - (len(lines) - 1)} more tickets not changed: open them to see why."


def test_assign_has_no_dangerous_default_and_unassigning_is_explicit(client, login, desk, make):
    ticket = desk.it_ticket
    ticket.assignee = desk.tech_it
    db.session.commit()
    login(desk.admin)
    page = client.get("/agent/").get_data(as_text=True)
    assert (
        '<option value="" selected>Choose…</option>' in page
        and '<option value="none" data-categories="*">Nobody (unassign)</option>' in page
    )
    refused = client.post(
        "/agent/bulk",
        data={"selected": [f"{ticket.id}.{ticket.version}"], "action": "assign", "assignee": ""},
    )
    assert "Choose whom to assign the selected tickets to" in client.get(
        refused.headers["Location"]
    ).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(ticket), ticket.id).assignee_id == desk.tech_it.id  # nothing changed
    client.post(
        "/agent/bulk",
        data={"selected": [f"{ticket.id}.{ticket.version}"], "action": "assign", "assignee": "none"},
    )
    db.session.expire_all()
    assert db.session.get(type(ticket), ticket.id).assignee_id is None
