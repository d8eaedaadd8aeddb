"""Destructive and money-moving actions ask first, saying what will happen, and do nothing until
the answer is yes: a page without JavaScript (carrying every field), a <dialog> for htmx."""

from helpdesk.extensions import db
from helpdesk.tickets.models import Subscription

from ..credit_helpers import balance_of, bank
from .agent_support import HTMX, fresh
from .test_agent_ticket_credits import paid_ticket, refunds, set_priority


def test_lowering_a_paid_priority_says_the_refund_and_waits(client, login, desk):
    ticket, account = paid_ticket(desk)
    login(desk.tech_it)
    asked = set_priority(client, ticket.id, desk.ref.priorities["Normal"], 1, confirmed=False)
    text = asked.get_data(as_text=True)
    assert asked.headers["HX-Retarget"] == "#confirm-host" and "<dialog" in text
    assert f"Lower #{ticket.id} to Normal?" in text and "Alice Archer gets 250 credits back." in text
    assert fresh(ticket.id).priority.name == "Urgent" and refunds(ticket) == []

    done = set_priority(client, ticket.id, desk.ref.priorities["Normal"], 1)
    assert "refunded" in done.get_data(as_text=True) and len(refunds(ticket)) == 1


def test_raising_a_priority_asks_nothing(client, login, desk):
    ticket, _ = paid_ticket(desk, priority="Normal")
    login(desk.tech_it)
    response = set_priority(client, ticket.id, desk.ref.priorities["Urgent"], 1, confirmed=False)
    assert "<dialog" not in response.get_data(as_text=True) and fresh(ticket.id).priority.name == "Urgent"


def test_closing_a_paid_ticket_without_javascript_asks_on_a_page(client, login, desk):
    ticket, _ = paid_ticket(desk)
    login(desk.tech_it)
    data = {"status-value": "closed", "status-version": 1}
    page = client.post(f"/agent/tickets/{ticket.id}/status", data=data).get_data(as_text=True)
    assert f"Close #{ticket.id}?" in page and "paid 250 credits" in page
    assert 'name="status-value" value="closed"' in page and 'name="confirmed_action" value="yes"' in page
    assert fresh(ticket.id).status != "closed"
    client.post(f"/agent/tickets/{ticket.id}/status", data=data | {"confirmed_action": "yes"})
    assert fresh(ticket.id).status == "closed"


def test_removing_a_subscriber_asks_first(client, login, desk):
    login(desk.tech_it)
    url = f"/agent/tickets/{desk.it_ticket.id}/subscribers/{desk.subscriber.id}/remove"
    text = client.post(url, headers=HTMX).get_data(as_text=True)
    assert "Remove Sam Sub from #" in text and "sam@example.com stops getting mail" in text
    assert len(db.session.scalars(db.select(Subscription)).all()) == 1


def test_bulk_close_asks_with_the_count(client, login, desk):
    login(desk.tech_it)
    data = {"selected": [f"{desk.it_ticket.id}.1"], "action": "status", "status": "closed"}
    text = client.post("/agent/bulk?status=all", data=data, headers=HTMX).get_data(as_text=True)
    assert "Close 1 ticket?" in text and fresh(desk.it_ticket.id).status != "closed"


def test_adjusting_credits_says_the_new_balance_and_keeps_the_reason(client, make, ref, login):
    account = bank("Pay as you go", 100, user=make.customer(name="Bea Bank"))
    login(make.admin())
    url = f"/admin/credits/banks/{account.id}/adjust"
    page = client.post(url, data={"amount": "-30", "reason": "Typo", "submission_key": "adjust-1"}).get_data(
        as_text=True
    )
    assert "Take 30 credits from Bea Bank" in page and "from 100 to 70 credits" in page
    assert 'name="reason" value="Typo"' in page and balance_of(account) == 100


def test_deactivating_a_user_asks_first(client, make, login):
    tech = make.technician(name="Tom Tech")
    login(make.admin())
    page = client.post(f"/admin/users/{tech.id}/active", data={"active": "0"}).get_data(as_text=True)
    assert "Deactivate Tom Tech?" in page and db.session.get(type(tech), tech.id).active
