"""Search through the pages: the agent queue and the customer portal, each within what its user may see."""

import re

import pytest

from .agent_support import HTMX


def queue_subjects(response):
    assert response.status_code == 200
    return set(re.findall(r'<a href="/agent/tickets/\d+">([^<]+)</a>', response.get_data(as_text=True)))


def portal_subjects(response):
    assert response.status_code == 200
    return set(re.findall(r'<a href="/portal/tickets/\d+">([^<]+)</a>', response.get_data(as_text=True)))


@pytest.fixture
def noted(desk, make):
    """The requester's IT ticket carries an internal note and a public reply."""
    make.message(desk.it_ticket, desk.tech_it, body="Their firewall admin is called Zanzibar", internal=True)
    make.message(desk.it_ticket, desk.tech_it, body="Please restart the router")
    return desk


def test_agents_find_internal_notes_customers_never_do(client, login, noted):
    login(noted.tech_it)
    assert queue_subjects(client.get("/agent/?q=zanzibar")) == {"VPN drops"}
    login(noted.requester)  # the ticket's own requester
    assert portal_subjects(client.get("/portal/tickets?q=zanzibar")) == set()
    assert portal_subjects(client.get("/portal/tickets?q=zanz&state=all")) == set()
    assert portal_subjects(client.get("/portal/tickets?q=router")) == {"VPN drops"}  # public reply
    login(noted.subscriber)
    assert portal_subjects(client.get("/portal/tickets?q=zanzibar&scope=following")) == set()
    assert portal_subjects(client.get("/portal/tickets?q=router&scope=following")) == {"VPN drops"}


def test_customers_search_only_their_own_tickets(client, login, noted):
    login(noted.customer)
    assert portal_subjects(client.get("/portal/tickets?q=router&state=all")) == set()
    assert portal_subjects(client.get("/portal/tickets?q=vpn&state=all")) == set()


def test_technicians_search_only_their_categories(client, login, make, desk):
    make.message(desk.sales_ticket, desk.requester, body="Also, the VPN licence count")
    login(desk.tech_it)
    assert queue_subjects(client.get("/agent/?q=vpn&status=all")) == {"VPN drops"}
    assert queue_subjects(client.get("/agent/?q=licence&status=all")) == set()
    login(desk.tech_sales)
    assert queue_subjects(client.get("/agent/?q=vpn&status=all")) == {"Quote please"}
    login(desk.admin)
    assert queue_subjects(client.get("/agent/?q=vpn&status=all")) == {"VPN drops", "Quote please"}
    for sort in ("priority", "updated"):  # every sort's query carries the search
        assert queue_subjects(client.get(f"/agent/?q=licence&sort={sort}")) == {"Quote please"}


@pytest.mark.parametrize("q", ['"vpn', "vpn)", "a OR b)", "*", "NEAR(vpn", "'", "\\", "%", "vpn:*", "-vpn"])
def test_search_syntax_in_the_box_never_breaks_a_page(client, login, desk, q):
    login(desk.admin)
    response = client.get("/agent/", query_string={"q": q}, headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    login(desk.requester)
    assert client.get("/portal/tickets", query_string={"q": q}).status_code == 200


def test_words_in_a_query_may_sit_in_different_places(client, login, make, desk):
    make.message(desk.it_ticket, desk.requester, body="I am in the Paris office")
    login(desk.admin)
    assert queue_subjects(client.get("/agent/?q=VPN+paris")) == {"VPN drops"}
    assert queue_subjects(client.get("/agent/?q=quote+paris")) == set()
    login(desk.requester)
    assert portal_subjects(client.get("/portal/tickets?q=drop+par")) == {"VPN drops"}


def test_a_search_without_words_says_why_nothing_matches(client, login, desk):
    login(desk.admin)
    page = client.get("/agent/", query_string={"q": "**"}).get_data(as_text=True)
    assert "“**” has no words to look for" in page and queue_subjects(client.get("/agent/?q=**")) == set()
    fragment = client.get("/agent/", query_string={"q": "?!"}, headers=HTMX).get_data(as_text=True)
    assert "“?!” has no words to look for" in fragment
    assert "no words to look for" not in client.get("/agent/?q=vpn").get_data(as_text=True)
    login(desk.requester)
    page = client.get("/portal/tickets", query_string={"q": "--"}).get_data(as_text=True)
    assert "“--” has no words to look for" in page
    assert "no words to look for" not in client.get("/portal/tickets?q=zzz").get_data(as_text=True)
