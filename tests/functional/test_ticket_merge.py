"""Merging a duplicate into the kept ticket (issue 16 item 5): messages, attachments, subscribers
and time entries move; the duplicate closes with a link and remembers the kept ticket (mail to it
lands there); what was paid for the duplicate's priority is refunded once; only agents who may
see both, only the same requester or organization; asks first."""

import html

from helpdesk.credits.models import LedgerEntry, TimeEntry
from helpdesk.extensions import db
from helpdesk.tickets import merging
from helpdesk.tickets.models import Message, Subscription, Ticket, TicketEvent

from ..credit_helpers import balance_of, bank
from .agent_support import HTMX, fresh


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
    from helpdesk.credits import submission

    account = bank("Business", 1000, user=desk.requester)
    duplicate, _ = submission.submit_ticket(
        desk.requester, subject="Urgent twin", body="Same as before.", category_id=desk.it.id,
        priority_id=desk.ref.priorities["Urgent"].id, submission_key="twin",
    )  # fmt: skip
    db.session.commit()
    assert balance_of(account) == 750
    login(desk.tech_it)
    asked = _merge(client, duplicate, desk.it_ticket.id, confirmed=False).get_data(as_text=True)
    assert "Alice Archer gets the 250 credits paid for it back." in asked
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
    from helpdesk.accounts.models import Organization

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
