"""Merging a duplicate into the kept ticket (issue 16 item 5): messages, attachments, subscribers
and time entries move; the duplicate closes with a link and remembers the kept ticket (mail to it
lands there); what was paid for an unanswered duplicate's priority is refunded once (to the bank
that paid, named in the question), an answered one's stays; the kept ticket opens again for an
unanswered customer message and takes the more urgent priority and the assignee; a merge the
wrong way round is warned about, with the other direction one button away; only agents who may
see both, only the same requester or organization; asks first."""

import html
import json
import re
from datetime import timedelta

import pytest

from helpdesk.accounts.models import Organization
from helpdesk.credits import submission
from helpdesk.credits.models import LedgerEntry, TimeEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle, merging
from helpdesk.tickets.models import Message, Subscription, Ticket, TicketEvent

from ..credit_helpers import balance_of, bank
from .agent_support import HTMX, fresh
from .api_support import bearer
from .webhook_support import add_endpoint, deliveries

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _merge(client, duplicate, into, confirmed=True, headers=None):
    data = {"merge-into": str(into)} | ({"confirmed_action": "yes"} if confirmed else {})
    return client.post(f"/agent/tickets/{duplicate.id}/merge", data=data, headers=headers or {})


def _twin(make, desk, subject="VPN drops again", requester=None, **kw):
    return make.ticket(
        subject=subject, requester=requester or desk.requester, category=desk.it,
        priority=desk.ref.priorities["Normal"], **kw,
    )  # fmt: skip


def test_the_conversation_moves_and_the_duplicate_closes_with_a_link(client, login, make, desk):
    kept, duplicate = desk.it_ticket, _twin(make, desk, body="Since this morning, again.")
    make.message(duplicate, desk.requester, "Also the printer.")
    make.message(duplicate, desk.tech_it, "Looking at it.")
    make.subscribe(duplicate, desk.customer)
    db.session.add(TimeEntry(ticket_id=duplicate.id, agent_id=desk.tech_it.id, minutes=15))
    db.session.commit()
    login(desk.tech_it)

    asked = _merge(client, duplicate, kept.id, confirmed=False).get_data(as_text=True)
    assert f"Merge #{duplicate.id} into #{kept.id}?" in html.unescape(asked)
    assert fresh(duplicate.id).status != "closed"

    answer = _merge(client, duplicate, f"#{kept.id}")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/agent/tickets/{kept.id}")
    bodies = [m.body for m in db.session.scalars(db.select(Message).where(Message.ticket_id == kept.id))]
    assert any("Since this morning, again." in b and f"from #{duplicate.id}" in b for b in bodies)
    assert "Also the printer." in bodies and "Looking at it." in bodies
    gone = fresh(duplicate.id)
    assert gone.status == "closed" and gone.merged_into_id == kept.id
    left = [m.body for m in db.session.scalars(db.select(Message).where(Message.ticket_id == duplicate.id))]
    assert left == [f"This ticket was merged into #{kept.id} (VPN drops): the conversation continues there."]
    followers = set(
        db.session.scalars(db.select(Subscription.user_id).where(Subscription.ticket_id == kept.id))
    )
    assert desk.customer.id in followers
    assert db.session.scalar(db.select(TimeEntry.ticket_id)) == kept.id
    fields = {(e.ticket_id, e.field) for e in db.session.scalars(db.select(TicketEvent))}
    assert (kept.id, "merged") in fields and (duplicate.id, "merged into") in fields
    page = client.get(f"/agent/tickets/{kept.id}").get_data(as_text=True)
    assert f"#{duplicate.id} merged into this ticket." in page and "Also the printer." in page


def test_a_paid_duplicate_is_refunded_once(client, login, make, desk):
    account = bank("Business", 1000, user=desk.requester)
    duplicate, _ = submission.submit_ticket(
        desk.requester, subject="Urgent twin", body="Same as before.", category_id=desk.it.id,
        priority_id=desk.ref.priorities["Urgent"].id, submission_key="twin",
    )  # fmt: skip
    db.session.commit()
    assert balance_of(account) == 750
    login(desk.tech_it)
    asked = _merge(client, duplicate, desk.it_ticket.id, confirmed=False).get_data(as_text=True)
    assert (
        f"Alice Archer gets the 250 credits paid for #{duplicate.id}'s Urgent priority back: no agent had"
        " answered it." in html.unescape(asked)
    )
    _merge(client, duplicate, desk.it_ticket.id)
    assert balance_of(account) == 1000
    refunds = db.session.scalars(
        db.select(LedgerEntry).where(LedgerEntry.idempotency_key == f"merge:{duplicate.id}")
    ).all()
    assert len(refunds) == 1 and refunds[0].amount == 250
    again = _merge(client, duplicate, desk.it_ticket.id)  # a resent confirmation: nothing twice
    assert balance_of(account) == 1000 and again.status_code == 303
    assert again.headers["Location"].endswith(f"/agent/tickets/{desk.it_ticket.id}")
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert f"#{duplicate.id} was already merged into this ticket." in shown


def _field(page):
    """The merge field's value and its error, as the refused page shows them."""
    field = page.split('id="merge-into"', 1)[1].split(">", 1)[0]
    value = html.unescape(field.split('value="', 1)[1].split('"', 1)[0])
    error = None
    if 'id="merge-into-error">' in page:
        error = html.unescape(page.split('id="merge-into-error">', 1)[1].split("<", 1)[0])
    return value, error, 'aria-invalid="true"' in field


def test_only_the_same_customer_and_only_what_the_agent_sees(client, login, make, desk):
    other_customer = _twin(make, desk, requester=desk.customer)
    duplicate = _twin(make, desk)
    login(desk.tech_it)
    refused = _merge(client, duplicate, other_customer.id, confirmed=False)  # refused before asking
    assert refused.status_code == 200 and "Merge tickets" not in refused.get_data(as_text=True)
    value, error, invalid = _field(refused.get_data(as_text=True))
    assert value == str(other_customer.id) and invalid and "another customer's ticket" in error
    assert fresh(duplicate.id).merged_into_id is None
    unseen = _merge(client, duplicate, desk.sales_ticket.id)  # a ticket this agent cannot see: as if missing
    assert _field(unseen.get_data(as_text=True))[1].startswith("Give the number of a ticket you can see")
    assert fresh(duplicate.id).merged_into_id is None
    itself = _merge(client, duplicate, f"#{duplicate.id}").get_data(as_text=True)
    assert _field(itself)[:2] == (
        f"#{duplicate.id}",
        "A ticket cannot be merged into itself: give the number of the ticket to keep.",
    )
    for bad in ("", "abc", "99999999999999999999", "-3", "<b>7</b>"):
        answer = _merge(client, duplicate, bad)
        assert answer.status_code == 200 and fresh(duplicate.id).merged_into_id is None
        value, error, invalid = _field(answer.get_data(as_text=True))
        assert value == bad[:12] and invalid and error.startswith("Give the number")
    assert "<b>7" not in _merge(client, duplicate, "<b>7</b>").get_data(as_text=True)  # escaped
    login(desk.tech_sales)  # may not see the duplicate at all
    assert _merge(client, duplicate, desk.it_ticket.id).status_code == 404


def test_a_refusal_with_javascript_comes_back_in_the_sidebar(client, login, make, desk):
    closed = _twin(make, desk, status="closed")
    duplicate = _twin(make, desk)
    login(desk.tech_it)
    answer = _merge(client, duplicate, closed.id, confirmed=False, headers=HTMX)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "HX-Retarget" not in answer.headers
    assert body.lstrip().startswith('<aside id="ticket-sidebar"') and "<dialog" not in body
    assert _field(body) == (
        str(closed.id),
        f"#{closed.id} is closed: reopen it first, or keep this ticket instead.",
        True,
    )


def test_a_closed_duplicate_says_why_at_the_top_of_its_page(client, login, make, desk):
    duplicate = _twin(make, desk)
    login(desk.tech_it)
    page = client.get(f"/agent/tickets/{duplicate.id}").get_data(as_text=True)
    assert 'id="merge-into"' in page
    duplicate.status = "closed"  # closed by a colleague while this page was open
    db.session.commit()
    answer = _merge(client, duplicate, 999999)
    assert answer.status_code == 303
    assert "Give the number of a ticket you can see" in client.get(answer.headers["Location"]).get_data(
        as_text=True
    )


def test_a_ticket_merged_meanwhile_is_refused_after_the_question(client, login, make, desk):
    duplicate, third = _twin(make, desk), _twin(make, desk, "VPN drops, third time")
    login(desk.tech_it)
    asked = _merge(client, duplicate, desk.it_ticket.id, confirmed=False, headers=HTMX)
    assert "<dialog" in asked.get_data(as_text=True)
    merging.merge(db.session.get(Ticket, desk.it_ticket.id), db.session.get(Ticket, third.id), desk.tech_it)
    db.session.commit()  # a colleague merged the kept ticket elsewhere before the agent confirmed
    answer = _merge(client, duplicate, desk.it_ticket.id, headers=HTMX)
    assert _field(answer.get_data(as_text=True))[1] == (
        f"#{desk.it_ticket.id} was merged into #{third.id}: merge into that one."
    )
    assert fresh(duplicate.id).merged_into_id is None


def test_members_of_one_organization_merge_and_the_other_member_follows(client, login, make, desk):
    acme = Organization(name="Acme")
    db.session.add(acme)
    db.session.flush()
    carol = make.customer(name="Carol", email="carol@acme.example", organization=acme)
    dave = make.customer(name="Dave", email="dave@acme.example", organization=acme)
    kept = _twin(make, desk, "Acme VPN", requester=carol, organization_id=acme.id)
    duplicate = _twin(make, desk, "Acme VPN too", requester=dave, organization_id=acme.id)
    login(desk.tech_it)
    _merge(client, duplicate, kept.id)
    assert fresh(duplicate.id).merged_into_id == kept.id
    assert db.session.scalar(
        db.select(Subscription.id).where(Subscription.ticket_id == kept.id, Subscription.user_id == dave.id)
    )


def _files_under(page, words):
    """The files listed with the message of the conversation whose text has `words`."""
    for article in page.split("<article")[1:]:
        body = html.unescape(article.split('<div class="body">', 1)[1].split("</div>", 1)[0])
        if words in re.sub(r"<[^>]+>", "", body):
            return re.findall(r'/attachments/\d+/([^"]+)"', article)
    raise AssertionError(f"no message with {words!r}")


def test_the_duplicate_s_description_keeps_its_files_on_the_kept_ticket(client, login, make, desk):
    """The files sent with the duplicate's description are listed under that description, where it
    is a message of the kept ticket, not under the kept ticket's own description as if its
    requester had sent them with it."""
    acme = Organization(name="Acme")
    db.session.add(acme)
    db.session.flush()
    carol = make.customer(name="Carol", email="carol@acme.example", organization=acme)
    dave = make.customer(name="Dave", email="dave@acme.example", organization=acme)
    kept = _twin(make, desk, "Acme VPN", requester=carol, organization_id=acme.id, body="Carol's VPN.")
    duplicate, _ = lifecycle.create_ticket(
        dave, subject="Acme VPN too", body="Dave's VPN.", category_id=desk.it.id,
        priority_id=desk.ref.priorities["Normal"].id, files=[("dave-screen.png", PNG)],
    )  # fmt: skip
    lifecycle.add_message(duplicate, dave, "And the log.", files=[("dave.log", b"timeout")])
    db.session.commit()
    login(desk.tech_it)
    _merge(client, duplicate, kept.id)

    for viewer, url in ((desk.tech_it, f"/agent/tickets/{kept.id}"), (carol, f"/portal/tickets/{kept.id}")):
        login(viewer)
        page = client.get(url).get_data(as_text=True)
        assert _files_under(page, "Carol's VPN.") == []
        assert _files_under(page, f"(from #{duplicate.id}, merged)") == ["dave-screen.png"]
        assert _files_under(page, "And the log.") == ["dave.log"]


def test_mail_answering_a_merged_ticket_lands_on_the_kept_one(make, desk):
    duplicate = _twin(make, desk)
    merging.merge(duplicate, desk.it_ticket, desk.tech_it)
    db.session.commit()
    assert merging.kept_ticket(db.session.get(Ticket, duplicate.id)).id == desk.it_ticket.id


def test_the_dialog_asks_with_javascript(client, login, make, desk):
    duplicate = _twin(make, desk)
    login(desk.tech_it)
    answer = _merge(client, duplicate, desk.it_ticket.id, confirmed=False, headers=HTMX)
    assert answer.headers["HX-Retarget"] == "#confirm-host" and "<dialog" in answer.get_data(as_text=True)
    done = _merge(client, duplicate, desk.it_ticket.id, headers=HTMX)
    assert done.headers.get("HX-Redirect", "").endswith(f"/agent/tickets/{desk.it_ticket.id}")


def test_a_merged_duplicate_takes_no_reply_and_is_never_reopened(client, login, make, desk):
    from helpdesk.errors import DomainError
    from helpdesk.tickets import lifecycle

    duplicate = _twin(make, desk)
    merging.merge(duplicate, desk.it_ticket, desk.tech_it)
    db.session.commit()
    gone = f"Ticket #{duplicate.id} was merged into #{desk.it_ticket.id}"

    login(desk.tech_it)
    page = client.get(f"/agent/tickets/{duplicate.id}").get_data(as_text=True)
    kept = desk.it_ticket.id
    assert f'This ticket was merged into <a href="/agent/tickets/{kept}">#{kept}</a>: reply there.' in page
    assert "Send reply" not in page
    refused = client.post(
        f"/agent/tickets/{duplicate.id}/reply", data={"reply-body": "Hello?", "reply-action": "reply"}
    ).get_data(as_text=True)
    assert f"{gone}: reply there." in refused and ">Hello?</textarea>" in refused
    for status in ("open", "resolved"):
        try:
            lifecycle.set_status(fresh(duplicate.id), desk.tech_it, status)
        except DomainError as refusal:
            assert str(refusal) == f"{gone}: it stays closed."
        else:
            raise AssertionError("a merged duplicate changed status")
        db.session.rollback()

    login(desk.requester)
    page = client.get(f"/portal/tickets/{duplicate.id}").get_data(as_text=True)
    assert "the conversation goes on there." in page and "Reopen ticket" not in page
    answer = client.post(f"/portal/tickets/{duplicate.id}/reopen", follow_redirects=True)
    assert f"{gone}: follow that one." in answer.get_data(as_text=True)
    assert client.post(f"/portal/tickets/{duplicate.id}/reply", data={"body": "Hi"}).status_code != 302
    assert fresh(duplicate.id).status == "closed"
    assert (
        db.session.scalar(db.select(db.func.count(Message.id)).where(Message.body.in_(["Hello?", "Hi"]))) == 0
    )


def _ago(minutes):
    return utcnow() - timedelta(minutes=minutes)


def _answered_then(status, make, desk):
    """desk's IT ticket, answered by Ivan two hours ago and then set to `status`."""
    kept = desk.it_ticket
    kept.created_at = _ago(180)
    make.message(kept, desk.tech_it, "Restart the router, please.").created_at = _ago(120)
    kept.first_response_at = _ago(120)
    lifecycle.set_status(kept, desk.tech_it, status)
    db.session.commit()
    return kept


def _history(client, ticket_id):
    return html.unescape(client.get(f"/agent/tickets/{ticket_id}/history").get_data(as_text=True))


@pytest.mark.parametrize("status, headers", [("waiting", {}), ("resolved", HTMX)])
def test_a_duplicate_with_an_unanswered_customer_message_opens_the_kept_ticket_again(
    client, login, make, desk, status, headers
):
    kept = _answered_then(status, make, desk)
    duplicate = _twin(make, desk, body="Still dropping after the restart.")
    login(desk.tech_it)
    assert f"/agent/tickets/{kept.id}" not in client.get("/agent/?status=open").get_data(as_text=True)

    asked = html.unescape(
        _merge(client, duplicate, kept.id, confirmed=False, headers=headers).get_data(as_text=True)
    )
    label = {"waiting": "Waiting on customer", "resolved": "Resolved"}[status]
    assert (
        f"#{kept.id} ({label}) opens again: #{duplicate.id} brings a message from Alice Archer that no"
        " agent has answered." in asked
    )
    _merge(client, duplicate, kept.id, headers=headers)
    assert fresh(kept.id).status == "open" and fresh(kept.id).resolved_at is None
    assert f"/agent/tickets/{kept.id}" in client.get("/agent/?status=open").get_data(as_text=True)
    history = _history(client, kept.id)
    assert f"opened again: #{duplicate.id}, merged in, brought Alice Archer's message" in history
    assert f"changed status from {label} to Open" in history


def test_a_duplicate_whose_customer_message_was_answered_leaves_the_kept_ticket_waiting(
    client, login, make, desk
):
    kept = _answered_then("waiting", make, desk)
    duplicate = _twin(make, desk, body="Also by mail.", created_at=_ago(90))
    make.message(duplicate, desk.tech_it, "Same as the other ticket: restart the router.").created_at = _ago(
        60
    )
    db.session.commit()
    login(desk.tech_it)
    assert "opens again" not in _merge(client, duplicate, kept.id, confirmed=False).get_data(as_text=True)
    _merge(client, duplicate, kept.id)
    assert fresh(kept.id).status == "waiting"
    assert "opened again" not in _history(client, kept.id)


def _acme(make, desk):
    """Acme with a shared Business bank of 1,000 credits, and its members Carol and Dave."""
    acme = Organization(name="Acme")
    db.session.add(acme)
    db.session.flush()
    carol = make.customer(name="Carol Carter", email="carol@acme.example", organization=acme)
    dave = make.customer(name="Dave Dunn", email="dave@acme.example", organization=acme)
    return bank("Business", 1000, organization=acme), carol, dave


def _paid(customer, desk, priority, key):
    ticket, _ = submission.submit_ticket(
        customer, subject="Printer offline", body="The office printer is offline.",
        category_id=desk.it.id, priority_id=desk.ref.priorities[priority].id, submission_key=key,
    )  # fmt: skip
    return ticket


def _carol(make, desk):
    """Carol's High ticket (150 credits from Acme's bank), answered on time by Ivan who has it,
    and her newer Low, New, unassigned ticket about the same printer."""
    account, carol, _ = _acme(make, desk)
    older = _paid(carol, desk, "High", "older")
    older.assignee = desk.tech_it
    lifecycle.add_message(older, desk.tech_it, "Reinstalling the printer's driver now.")
    newer = make.ticket(
        subject="Printer still offline", requester=carol, category=desk.it,
        priority=desk.ref.priorities["Low"], created_at=utcnow() + timedelta(minutes=5),
    )  # fmt: skip
    db.session.commit()
    assert balance_of(account) == 850
    return account, older, newer


def _instead(page):
    """The "instead" form of a merge question: (its action, its merge-into value, its button)."""
    form = (
        page.split('id="confirm-instead"', 1)[0].rsplit("<form", 1)[1]
        + page.split('id="confirm-instead"', 1)[1]
    )
    action = form.split('action="', 1)[1].split('"', 1)[0]
    into = form.split('name="merge-into" value="', 1)[1].split('"', 1)[0]
    button = page.split('form="confirm-instead"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    return action, into, html.unescape(button)


def test_an_answered_duplicate_keeps_its_charge_and_the_kept_ticket_takes_its_priority_and_agent(
    client, login, make, desk
):
    account, older, newer = _carol(make, desk)
    login(desk.tech_it)
    page = _merge(client, older, newer.id, confirmed=False).get_data(as_text=True)
    asked = html.unescape(page)
    assert (
        f"The 150 credits Acme paid for #{older.id}'s High priority stay paid: an agent answered it, so"
        " that priority was delivered." in asked
    )
    assert f"#{newer.id} takes #{older.id}'s High priority, at no charge to the customer." in asked
    assert f"Ivan IT, who has #{older.id}, is assigned to #{newer.id}." in asked
    assert (
        f"#{older.id} is the older, answered and paid (150 credits) ticket: you are merging the ticket"
        " with the conversation into a newer one." in asked
    )
    assert _instead(page) == (
        f"/agent/tickets/{newer.id}/merge",
        str(older.id),
        f"Merge #{newer.id} into #{older.id} instead",
    )

    _merge(client, older, newer.id)  # merged this way all the same
    assert balance_of(account) == 850
    kept = fresh(newer.id)
    assert kept.priority.name == "High" and kept.assignee_id == desk.tech_it.id and kept.paid_credits == 0
    history = _history(client, newer.id)
    assert f"priority given: High at no charge to the customer: #{older.id}, merged in, had it" in history
    assert "changed assignee from none to Ivan IT" in history
    assert "charge kept: 150 credits for High priority: an agent had answered it" in _history(
        client, older.id
    )


def test_the_other_direction_is_one_button_away_with_javascript(client, login, make, desk):
    account, older, newer = _carol(make, desk)
    login(desk.tech_it)
    dialog = _merge(client, older, newer.id, confirmed=False, headers=HTMX).get_data(as_text=True)
    assert (
        "<dialog" in dialog and "you are merging the ticket with the conversation into a newer one" in dialog
    )
    action, into, button = _instead(dialog)
    instead_form = dialog.split('id="confirm-instead"', 1)[0].rsplit("<form", 1)[1]
    assert "hx-" not in instead_form  # a plain form: the reverse's question comes as a page
    assert button == f"Merge #{newer.id} into #{older.id} instead"

    reverse = client.post(action, data={"merge-into": into}).get_data(as_text=True)  # as the browser sends it
    assert f"Merge #{newer.id} into #{older.id}?" in html.unescape(reverse)
    assert 'id="confirm-instead"' not in reverse and "notice-warning" not in reverse
    done = client.post(action, data={"merge-into": into, "confirmed_action": "yes"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/agent/tickets/{older.id}")
    assert fresh(newer.id).merged_into_id == older.id
    kept = fresh(older.id)
    assert kept.priority.name == "High" and kept.assignee_id == desk.tech_it.id and kept.paid_credits == 150
    assert balance_of(account) == 850


def test_an_unanswered_duplicate_of_a_member_is_refunded_to_the_organization_bank(client, login, make, desk):
    account, _, dave = _acme(make, desk)
    kept = _twin(make, desk, "Printer offline", requester=dave, created_at=_ago(60))
    duplicate = _paid(dave, desk, "High", "dave")
    db.session.commit()
    login(desk.tech_it)
    asked = html.unescape(_merge(client, duplicate, kept.id, confirmed=False).get_data(as_text=True))
    assert (
        f"Acme gets the 150 credits paid for #{duplicate.id}'s High priority back: no agent had answered it."
        in asked
    )
    assert "Dave Dunn gets" not in asked
    _merge(client, duplicate, kept.id)
    assert balance_of(account) == 1000
    assert fresh(kept.id).priority.name == "High" and fresh(kept.id).paid_credits == 0


def _merged_conversation(make, desk):
    """The desk's IT ticket answered half an hour ago, and a duplicate opened two hours ago and
    answered an hour ago, merged into it: written in that order, the ids are not the times."""
    now = utcnow()
    kept = desk.it_ticket
    kept.created_at = now - timedelta(hours=3)
    make.message(kept, desk.tech_it, "Kept reply here").created_at = now - timedelta(minutes=30)
    duplicate = _twin(make, desk, body="Duplicate description here", created_at=now - timedelta(hours=2))
    make.message(duplicate, desk.tech_it, "Duplicate reply here").created_at = now - timedelta(hours=1)
    db.session.commit()
    merging.merge(duplicate, kept, desk.tech_it)
    db.session.commit()
    return kept


def _order(page):
    return re.findall(r"(Duplicate description|Duplicate reply|Kept reply) here", page)


CHRONOLOGICAL = ["Duplicate description", "Duplicate reply", "Kept reply"]


def test_merged_messages_take_their_place_in_time_on_both_pages(client, login, make, desk):
    kept = _merged_conversation(make, desk)
    login(desk.tech_it)
    assert _order(client.get(f"/agent/tickets/{kept.id}").get_data(as_text=True)) == CHRONOLOGICAL
    login(desk.requester)
    assert _order(client.get(f"/portal/tickets/{kept.id}").get_data(as_text=True)) == CHRONOLOGICAL


def test_the_latest_messages_window_counts_merged_messages_by_their_time(
    app, client, login, make, desk, monkeypatch
):
    monkeypatch.setitem(app.config, "THREAD_RECENT_MESSAGES", 2)
    monkeypatch.setitem(app.extensions, "helpdesk_deployment", ("test", "THREAD_RECENT_MESSAGES=2"))
    kept = _merged_conversation(make, desk)
    for who, url in (
        (desk.tech_it, f"/agent/tickets/{kept.id}"),
        (desk.requester, f"/portal/tickets/{kept.id}"),
    ):
        login(who)
        page = client.get(url).get_data(as_text=True)
        assert _order(page) == CHRONOLOGICAL[1:] and "Show the 1 earlier message" in page
        assert _order(client.get(f"{url}?thread=all").get_data(as_text=True)) == CHRONOLOGICAL
    # The agent's page does not take the merged description, newest by id, for a new reply.
    login(desk.tech_it)
    for url in (f"/agent/tickets/{kept.id}", f"/agent/tickets/{kept.id}?thread=all"):
        page = client.get(url).get_data(as_text=True)
        seen = {
            name: re.search(rf'name="{name}" value="(\d+)"', page).group(1)
            for name in ("seen_version", "seen_message")
        }
        notice = client.post(f"/agent/tickets/{kept.id}/presence", data=seen, headers=HTMX)
        assert notice.status_code == 200 and "replied" not in notice.get_data(as_text=True)


def test_a_mention_in_a_moved_note_leads_to_the_note_on_the_kept_ticket(client, login, make, desk):
    """The notice of an @mention links to its note's place on its ticket's page: once the note
    moved with the duplicate's conversation, that place is on the kept ticket."""
    duplicate = _twin(make, desk)
    db.session.commit()
    login(desk.admin)
    answer = client.post(
        f"/agent/tickets/{duplicate.id}/reply",
        data={"reply-body": "@ivan the old VPN profile is in the wiki.", "reply-action": "note"},
    )
    assert answer.status_code == 302
    _merge(client, duplicate, desk.it_ticket.id)

    login(desk.tech_it)
    listed = client.get("/notices/").get_data(as_text=True)
    [link] = re.findall(r'href="([^"]*#message-\d+)"', listed)
    page = client.get(html.unescape(link)).get_data(as_text=True)
    note_id = link.rsplit("#message-", 1)[1]
    assert f'id="message-{note_id}"' in page and "the old VPN profile is in the wiki" in page


def test_a_timer_whose_agent_may_not_work_the_kept_ticket_is_stopped_by_the_merge(client, login, make, desk):
    """An admin merges an IT duplicate into the customer's Sales ticket: the IT technician's
    timer on the duplicate stops and is charged as a stop charges it, rather than running on, for
    ever, on a ticket its agent can neither see nor stop it on."""
    kept = make.ticket(
        subject="Invoice and VPN", requester=desk.requester, category=desk.sales,
        priority=desk.ref.priorities["Normal"],
    )  # fmt: skip
    duplicate = _twin(make, desk)
    started = utcnow() - timedelta(minutes=29, seconds=30)
    db.session.add(TimeEntry(ticket_id=duplicate.id, agent_id=desk.tech_it.id, started_at=started))
    db.session.commit()
    login(desk.admin)
    assert _merge(client, duplicate, kept.id).status_code == 303

    login(desk.tech_it)
    panel = client.post(f"/agent/credits/tickets/{desk.it_ticket.id}/timer/start", headers=HTMX)
    panel = panel.get_data(as_text=True)
    assert "Your timer started" in panel and "also running" not in panel
    [moved] = db.session.scalars(db.select(TimeEntry).where(TimeEntry.ticket_id == kept.id)).all()
    assert not moved.running and moved.minutes == 30


def test_an_agent_on_the_duplicate_s_page_is_not_told_the_customer_replied(app, client, login, make, desk):
    """The live notice of the duplicate's page while another agent merges it: the message the
    merge leaves there is the desk's, not a customer's reply."""
    from .test_presence import beat, seen_of, text_of

    duplicate = _twin(make, desk)
    db.session.commit()
    login(desk.tech_it)
    seen = seen_of(client, duplicate)
    ada = login(desk.admin, as_client=app.test_client())
    assert _merge(ada, duplicate, desk.it_ticket.id).status_code == 303

    notice = text_of(beat(client, duplicate, seen))
    assert "A system message was posted" in notice and "replied" not in notice


def test_an_agent_on_the_kept_ticket_s_page_is_told_of_the_merge_not_of_an_old_reply(
    app, client, login, make, desk
):
    """The live notice of the kept ticket's page while another agent merges a duplicate into it:
    the merge, now, by that agent; not a reply of the duplicate's requester dated when the
    duplicate was opened (its description, now a message, keeps that time)."""
    from .test_presence import beat, seen_of, text_of

    duplicate = _twin(make, desk, created_at=_ago(3 * 24 * 60))
    make.message(duplicate, desk.requester, "Also the printer.")
    db.session.commit()
    login(desk.tech_it)
    seen = seen_of(client, desk.it_ticket)
    ada = login(desk.admin, as_client=app.test_client())
    assert _merge(ada, duplicate, desk.it_ticket.id).status_code == 303

    notice = text_of(beat(client, desk.it_ticket, seen))
    assert f"Ada Admin merged #{duplicate.id} into this ticket just now" in notice, notice
    assert "replied" not in notice


def test_the_kept_ticket_s_history_counts_the_messages_merged_in(client, login, make, desk):
    duplicate = _twin(make, desk)
    make.message(duplicate, desk.requester, "Also the printer.")
    make.message(duplicate, desk.tech_it, "Looking at it.")
    db.session.commit()
    login(desk.tech_it)
    _merge(client, duplicate, desk.it_ticket.id)
    history = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _history(client, desk.it_ticket.id)))
    assert f"#{duplicate.id} (2 message(s))" in history


def test_an_agent_timing_both_tickets_keeps_one_timer_on_the_kept_ticket(client, login, make, desk):
    """The technician's timers run on both tickets: the merge stops the duplicate's (charged as a
    stop charges it) and keeps the kept ticket's, the one its credit panel shows; once they stop
    that one, no timer of theirs runs on anywhere."""
    duplicate = _twin(make, desk)
    now = utcnow()
    db.session.add(
        TimeEntry(
            ticket_id=duplicate.id,
            agent_id=desk.tech_it.id,
            started_at=now - timedelta(minutes=29, seconds=30),
        )
    )
    db.session.add(
        TimeEntry(
            ticket_id=desk.it_ticket.id,
            agent_id=desk.tech_it.id,
            started_at=now - timedelta(minutes=9, seconds=30),
        )
    )
    db.session.commit()
    login(desk.tech_it)
    assert _merge(client, duplicate, desk.it_ticket.id).status_code == 303

    stopped = client.post(
        f"/agent/credits/tickets/{desk.it_ticket.id}/timer/stop", data={"note": "Call"}, headers=HTMX
    )
    assert stopped.status_code == 200
    other = make.ticket(
        subject="Printer", requester=desk.requester, category=desk.it, priority=desk.ref.priorities["Normal"]
    )
    db.session.commit()
    panel = client.post(f"/agent/credits/tickets/{other.id}/timer/start", headers=HTMX).get_data(as_text=True)
    assert "Your timer started" in panel and "also running" not in panel, panel
    entries = db.session.scalars(
        db.select(TimeEntry).where(TimeEntry.ticket_id == desk.it_ticket.id).order_by(TimeEntry.id)
    ).all()
    assert [(e.running, e.minutes) for e in entries] == [(False, 30), (False, 10)]


def test_the_kept_ticket_s_merge_webhook_carries_its_version_after_the_merge(client, login, make, desk):
    """An integration told of the merge by `ticket.updated` changes the kept ticket with the
    version it was sent as If-Match: accepted, not refused as stale by the merge's own bump."""
    add_endpoint(desk.admin, "https://hooks.example.com/in", events=["ticket.updated"])
    duplicate = _twin(make, desk)
    db.session.commit()
    login(desk.tech_it)
    assert _merge(client, duplicate, desk.it_ticket.id).status_code == 303

    [merged] = [
        event["data"]["object"]
        for event in (json.loads(row.body) for row in deliveries())
        if event["data"]["object"]["change"]["field"] == "merged"
    ]
    assert merged["id"] == desk.it_ticket.id and merged["version"] == fresh(desk.it_ticket.id).version
    change = client.patch(
        f"/api/v1/tickets/{desk.it_ticket.id}",
        json={"status": "waiting"},
        headers=bearer(desk.tech_it) | {"If-Match": f'"{merged["version"]}"'},
    )
    assert change.status_code == 200, change.get_json()


def test_the_kept_ticket_s_live_notice_counts_the_replies_merged_in(app, client, login, make, desk):
    """An agent on the kept ticket's page while another agent merges a duplicate with two replies
    into it, then the customer writes: the notice counts every message the page does not show
    (the duplicate's description, its two replies, the new one), not only those with ids newer
    than the page's last message (the duplicate's replies were written before it)."""
    from .test_presence import beat, seen_of, text_of

    duplicate = _twin(make, desk, created_at=_ago(3 * 24 * 60))
    make.message(duplicate, desk.requester, "Also the printer.")
    make.message(duplicate, desk.admin, "Looking at it.")
    make.message(desk.it_ticket, desk.tech_it, "Restart the router, please.")  # newer than those
    db.session.commit()
    login(desk.tech_it)
    seen = seen_of(client, desk.it_ticket)
    ada = login(desk.admin, as_client=app.test_client())
    assert _merge(ada, duplicate, desk.it_ticket.id).status_code == 303
    assert f"merged #{duplicate.id} into this ticket" in text_of(beat(client, desk.it_ticket, seen))

    make.message(desk.it_ticket, desk.requester, "Any news?")
    db.session.commit()
    notice = text_of(beat(client, desk.it_ticket, seen))
    assert f"{desk.requester.name} replied (4 new messages)" in notice, notice
