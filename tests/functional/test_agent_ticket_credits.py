"""The agent ticket page with the credit service: the credit panel, and priority edits that refund."""

from sqlalchemy import func, select

from helpdesk.credits import ledger as credits
from helpdesk.credits import submission
from helpdesk.credits.models import KIND_CHARGE, KIND_REFUND, LedgerEntry
from helpdesk.extensions import db

from ..credit_helpers import balance_of, bank
from .agent_support import HTMX, fresh


def paid_ticket(desk, priority="Urgent", balance=1000):
    """Alice (the desk's requester) on Business opens a ticket at `priority` and pays for it."""
    account = bank("Business", balance, user=desk.requester)
    ticket, _ = submission.submit_ticket(
        desk.requester,
        subject="Server down",
        body="Everything is down.",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities[priority].id,
        submission_key="paid-1",
    )
    db.session.commit()
    return ticket, account


def set_priority(client, ticket_id, priority, version, htmx=True, confirmed=True):
    """The agent's priority edit, answered "yes" to the refund question unless `confirmed` is False."""
    return client.post(
        f"/agent/tickets/{ticket_id}/priority",
        data={"priority-value": priority.id, "priority-version": version}
        | ({"confirmed_action": "yes"} if confirmed else {}),
        headers=HTMX if htmx else {},
    )


def refunds(ticket):
    return db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind == KIND_REFUND)
    ).all()


def test_the_ticket_page_shows_the_credit_panel_in_the_same_request(client, login, desk):
    ticket, _ = paid_ticket(desk)
    login(desk.tech_it)
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="credit-panel"' in page and "Urgent — 250 credits" in page
    assert 'hx-get="/agent/credits' not in page  # the panel is in the page: no second request for it
    fragment = client.get(f"/agent/tickets/{ticket.id}", headers=HTMX).get_data(as_text=True)
    assert "Urgent — 250 credits" in fragment


def test_the_credit_panel_has_its_own_page_and_fragment(client, login, desk):
    ticket, _ = paid_ticket(desk)
    login(desk.tech_it)
    panel_url = f"/agent/credits/tickets/{ticket.id}"
    panel = client.get(panel_url, headers=HTMX)
    assert b"<html" not in panel.data and "HX-Request" in panel.headers["Vary"]
    assert "Urgent — 250 credits" in panel.get_data(as_text=True)  # the priority paid, credits spent
    full = client.get(panel_url).get_data(as_text=True)  # without JavaScript: a page, with a way back
    assert "<html" in full and f'href="/agent/tickets/{ticket.id}"' in full


def test_panel_shows_the_low_balance_alert_of_the_customers_bank(client, login, desk):
    ticket, _ = paid_ticket(desk, balance=300)  # 300 - 250 = 50: below the plan's thresholds
    login(desk.tech_it)
    panel = client.get(f"/agent/credits/tickets/{ticket.id}", headers=HTMX).get_data(as_text=True)
    assert "Customer's bank is low" in panel


def test_lowering_a_paid_priority_refunds_the_difference_once(client, login, desk):
    ticket, account = paid_ticket(desk)
    assert balance_of(account) == 750
    login(desk.tech_it)
    response = set_priority(client, ticket.id, desk.ref.priorities["High"], 1)
    assert "Priority saved: High — 100 credits refunded to Alice Archer’s bank." in response.get_data(
        as_text=True
    )
    assert balance_of(account) == 850
    response = set_priority(client, ticket.id, desk.ref.priorities["Low"], 2, htmx=False)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Priority saved: Low — 150 credits refunded to Alice Archer’s bank." in page
    assert balance_of(account) == 1000
    assert [r.amount for r in refunds(ticket)] == [100, 150]
    resent = set_priority(client, ticket.id, desk.ref.priorities["Low"], 3)  # same value again
    assert b"Priority unchanged." in resent.data
    assert balance_of(account) == 1000 and len(refunds(ticket)) == 2
    assert credits.ledger_mismatches() == []
    login(desk.requester)  # the customer reads it on their ticket, as of a guarantee refund
    portal = " ".join(client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True).split())
    assert (
        "The support team lowered this ticket from Urgent to High priority, so the 100 credits paid"
        " above High have been refunded to Alice Archer's bank." in portal
    )
    assert "from High to Low priority, so the 150 credits" in portal


def test_raising_a_priority_charges_nothing(client, login, desk):
    ticket, account = paid_ticket(desk, priority="Normal")
    login(desk.tech_it)
    response = set_priority(client, ticket.id, desk.ref.priorities["Urgent"], 1)
    assert b"Priority saved: Urgent." in response.data and b"refunded" not in response.data
    assert fresh(ticket.id).priority.name == "Urgent"
    assert balance_of(account) == 1000
    entries = db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.ticket_id == ticket.id))
    assert entries == 0
    # Lowering it again refunds nothing either: nothing was paid for Urgent.
    response = set_priority(client, ticket.id, desk.ref.priorities["Normal"], 2)
    assert b"Priority saved: Normal." in response.data and balance_of(account) == 1000


def test_stale_priority_change_is_refused_and_refunds_nothing(client, login, desk):
    ticket, account = paid_ticket(desk)
    login(desk.tech_it)
    client.post(
        f"/agent/tickets/{ticket.id}/status", data={"status-value": "open", "status-version": 1}, headers=HTMX
    )  # another change: version 1 -> 2
    response = set_priority(client, ticket.id, desk.ref.priorities["Low"], 1, htmx=False)
    assert response.status_code == 409
    assert "Priority is now “Urgent”; your change was not saved." in response.get_data(as_text=True)
    assert fresh(ticket.id).priority.name == "Urgent"
    assert balance_of(account) == 750 and refunds(ticket) == []
    charges = db.session.scalars(
        select(LedgerEntry.amount).where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind == KIND_CHARGE)
    ).all()
    assert charges == [-250]
