"""The customer's ticket page lists what the ticket was charged a page at a time (a time bank's
ticket worked for months has hundreds of charges), newest first, with the total over all of them;
an odd page number is answered with the page, never a server error."""

import re

import pytest

from helpdesk.credits import ledger as credits
from helpdesk.extensions import db
from tests.credit_helpers import bank

from .test_agent_time_entries import text_of


@pytest.fixture
def charged(make, ref):
    """Tess's ticket charged 60 times 2 credits ("Charge 1" the oldest), then refunded 10."""
    customer = make.customer(name="Tess Time")
    account = bank("Time bank", 600, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    for n in range(1, 61):
        credits.post_entry(
            account.id, -2, "charge", idempotency_key=f"c{n}", ticket=ticket, memo=f"Charge {n}"
        )
    credits.post_entry(account.id, 10, "refund", idempotency_key="r", ticket=ticket, memo="Refund")
    db.session.commit()
    return customer, ticket


def memos(page):
    return re.findall(r'<span class="hint">((?:Charge \d+|Refund)): ', page)


def test_the_ticket_page_shows_its_charges_a_page_at_a_time_and_the_total_of_all(client, login, charged):
    customer, ticket = charged
    login(customer)
    first = client.get(f"/portal/tickets/{ticket.id}")
    page = first.get_data(as_text=True)
    assert memos(page) == ["Refund"] + [f"Charge {n}" for n in range(60, 36, -1)]  # newest first
    assert "Paid 110 credits" in text_of(first) and "Page 1 of 3" in text_of(first)
    assert f'<a href="/portal/tickets/{ticket.id}?page=2" rel="next">Next</a>' in page
    second = client.get(f"/portal/tickets/{ticket.id}?page=2")
    assert memos(second.get_data(as_text=True)) == [f"Charge {n}" for n in range(36, 11, -1)]
    assert "Paid 110 credits" in text_of(second)
    third = client.get(f"/portal/tickets/{ticket.id}?page=3").get_data(as_text=True)
    assert memos(third) == [f"Charge {n}" for n in range(11, 0, -1)] and 'rel="next"' not in third


@pytest.mark.parametrize("odd", ["²", "-1", "0", "9" * 30, "abc", "99"])
def test_an_odd_or_past_the_end_page_is_answered_with_the_page(client, login, charged, odd):
    customer, ticket = charged
    login(customer)
    response = client.get(f"/portal/tickets/{ticket.id}", query_string={"page": odd})
    assert response.status_code == 200 and "Paid 110 credits" in text_of(response)
    if odd == "99":
        assert "There is no page 99: the list has 3 pages. Go to the last page" in text_of(response)
    else:
        assert memos(response.get_data(as_text=True))[:2] == ["Refund", "Charge 60"]
