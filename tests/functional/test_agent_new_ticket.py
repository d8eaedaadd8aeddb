"""Tickets an agent opens for a customer (issue 16 item 4): a paid priority is charged only with
the customer's consent ticked (recorded with who ticked it); otherwise at no charge; new
addresses become customers; agents' addresses, other categories and bad input are refused with a
message and nothing written."""

import html
import re

from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets.models import Ticket, TicketEvent

from ..credit_helpers import balance_of, bank
from .agent_support import HTMX


def _post(client, desk, **fields):
    data = {
        "customer_email": "alice@example.com",
        "customer_name": "",
        "category": desk.it.id,
        "priority": desk.ref.priorities["Normal"].id,
        "subject": "Printer on fire",
        "body": "Called at 9:05: smoke from the printer.",
        "submission_key": "phone-1",
    } | fields
    if data.get("consent") is False:
        data.pop("consent")
    return client.post("/agent/tickets/new", data=data)


def _tickets():
    return db.session.scalars(db.select(Ticket).where(Ticket.subject == "Printer on fire")).all()


def _history(ticket):
    rows = db.session.scalars(db.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
    return {(e.field, e.new_value, e.actor_id) for e in rows}


def test_a_free_ticket_for_an_existing_customer_is_theirs_and_acknowledged(client, login, desk):
    login(desk.tech_it)
    assert "New ticket for a customer" in client.get("/agent/").get_data(as_text=True)
    page = client.get("/agent/tickets/new").get_data(as_text=True)
    assert "Sales" not in page.split('id="category"')[1].split("</select>")[0]  # only their categories
    answer = _post(client, desk)
    assert answer.status_code == 302
    (ticket,) = _tickets()
    assert ticket.requester_id == desk.requester.id and ticket.paid_credits == 0
    assert ("opened for the customer", "Alice Archer", desk.tech_it.id) in _history(ticket)
    assert db.session.scalar(
        db.select(db.func.count(OutboxMessage.id)).where(OutboxMessage.user_id == desk.requester.id)
    )
    followed = client.get(answer.headers["Location"])
    assert f"Ticket #{ticket.id} opened for Alice Archer." in followed.get_data(as_text=True)
    history = client.get(f"/agent/tickets/{ticket.id}/history").get_data(as_text=True)
    assert "Alice Archer created the ticket" not in history  # Ivan did, for her
    assert "opened for the customer: Alice Archer" in history


def test_a_paid_priority_is_charged_only_with_consent_and_who_ticked_is_recorded(client, login, desk):
    account = bank("Business", 1000, user=desk.requester)
    login(desk.tech_it)
    urgent = desk.ref.priorities["Urgent"].id
    _post(client, desk, priority=urgent, consent="y")
    (ticket,) = _tickets()
    assert ticket.paid_credits == 250 and balance_of(account) == 750
    assert (
        "customer's consent",
        "agreed to pay 250 credits (ticked by Ivan IT)",
        desk.tech_it.id,
    ) in _history(ticket)

    _post(client, desk, priority=urgent, consent="y")  # the same form again: no second ticket or charge
    assert len(_tickets()) == 1 and balance_of(account) == 750

    _post(
        client, desk, priority=urgent, submission_key="phone-2", body="Called again: no smoke now."
    )  # unticked: at no charge
    free = [t for t in _tickets() if t.id != ticket.id][0]
    assert free.priority.name == "Urgent" and free.paid_credits == 0 and balance_of(account) == 750
    assert ("priority given", "Urgent at no charge to the customer", desk.tech_it.id) in _history(free)
    history = client.get(f"/agent/tickets/{free.id}/history").get_data(as_text=True)
    assert "priority given: Urgent at no charge to the customer" in history
    assert "from none" not in history


def test_consent_without_enough_credits_opens_nothing(client, login, desk):
    account = bank("Business", 100, user=desk.requester)
    login(desk.tech_it)
    answer = _post(client, desk, priority=desk.ref.priorities["Urgent"].id, consent="y")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Printer on fire" in text
    # Said to the agent, with what they can do: not the customer's "Buy credits".
    assert (
        "Not enough credits in Alice Archer&#39;s bank for Urgent priority: it costs 250 credits (they can buy"
        " credits in the portal). Choose another priority, or leave the box unticked to give it at no charge."
        " Nothing was charged and no ticket was opened." in text
    )
    assert "Buy credits or" not in text
    assert _tickets() == [] and balance_of(account) == 100


def test_a_new_address_needs_a_name_and_becomes_a_customer(client, login, desk):
    login(desk.tech_it)
    refused = _post(client, desk, customer_email="new.caller@example.com")
    assert refused.status_code == 422 and "give their name" in refused.get_data(as_text=True)
    assert _tickets() == []
    _post(client, desk, customer_email="new.caller@example.com", customer_name="Nina New")
    (ticket,) = _tickets()
    assert ticket.requester.name == "Nina New" and ticket.requester.role == "customer"
    assert ticket.requester.password_hash is None


def test_agents_other_categories_and_bad_input_are_refused(client, login, desk):
    login(desk.tech_it)
    agent = _post(client, desk, customer_email="sara@example.com")
    assert agent.status_code == 422 and "is an agent's address" in html.unescape(agent.get_data(as_text=True))
    sales = _post(client, desk, category=desk.sales.id)
    assert sales.status_code == 422 and "Category: choose one of the listed options." in sales.get_data(
        as_text=True
    )
    for bad in (
        {"customer_email": "not-an-address"},
        {"subject": ""},
        {"priority": "99999999999"},
        {"category": "x"},
    ):
        assert _post(client, desk, **bad).status_code == 422
    assert _tickets() == []


def test_the_category_is_chosen_and_a_missing_one_loses_nothing(client, login, desk):
    """Several categories: the form opens on "Choose a category", not on the first of the list."""
    login(desk.admin)
    page = client.get("/agent/tickets/new").get_data(as_text=True)
    select = page.split('id="category"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r"<option( selected)? value=\"([^\"]*)\">", select)[0] == (" selected", "")
    answer = _post(client, desk, category="")
    text = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 422 and "Category is required." in text
    assert 'value="Printer on fire"' in text and "smoke from the printer" in text
    assert _tickets() == []


def test_the_form_says_what_each_category_the_agent_may_use_is_for(client, login, desk):
    """Beside the category list, the descriptions of the categories this agent may open tickets
    in, and no other: Sales' description is not shown to the IT technician."""
    desk.it.description, desk.sales.description = "Laptops and VPN.", "Quotes and plans."
    desk.ref.categories["Billing"].description = ""
    db.session.commit()
    login(desk.tech_it)
    page = client.get("/agent/tickets/new").get_data(as_text=True)
    block = page.split('id="category-help"', 1)[1].split("</dl>", 1)[0]
    assert re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block) == [("IT", "Laptops and VPN.")]
    assert "Quotes and plans." not in page
    assert 'aria-describedby="category-help"' in re.search(r'<select[^>]*id="category"[^>]*>', page)[0]


def test_customers_cannot_open_tickets_for_others(client, login, desk):
    login(desk.requester)
    assert client.get("/agent/tickets/new").status_code == 404
    assert _post(client, desk, customer_email="carl@example.com").status_code == 404


def _matches(client, typed):
    response = client.get(
        "/agent/tickets/new/customers", query_string={"customer_email": typed}, headers=HTMX
    )
    assert response.status_code == 200
    return re.findall(r'<option value="([^"]+)">([^<]*)</option>', response.get_data(as_text=True))


def test_typing_in_the_customer_field_offers_the_customers_who_match(client, login, desk, make):
    """A customer who phoned is found by part of their name or address: active customers only
    (never agents or deactivated accounts), their organization beside the name, at most eight,
    names escaped; fewer than two characters offer nothing."""
    acme = make.OrganizationFactory(name="Acme & Sons")
    make.customer(name="Carol Carter", email="carol@acme.example", organization=acme)
    make.customer(name="Carl <b>Bold</b>", email="carl.bold@example.net")
    make.customer(name="Carla Gone", email="carla@example.net", active=False)
    make.technician(desk.it, name="Carlos Tech", email="carlos@example.com")
    for n in range(10):
        make.customer(name=f"Zed {n}", email=f"zed{n}@example.org")
    db.session.commit()
    login(desk.tech_sales)  # any agent: they open tickets for every customer

    assert ("carol@acme.example", "Carol Carter · Acme &amp; Sons") in _matches(client, "carol")
    by_name = _matches(client, "CAR")
    assert {email for email, _ in by_name} == {
        "carol@acme.example",
        "carl.bold@example.net",
        "carl@example.com",
    }
    assert ("carl.bold@example.net", "Carl &lt;b&gt;Bold&lt;/b&gt;") in by_name
    assert [email for email, _ in _matches(client, "acme.ex")] == ["carol@acme.example"]
    assert len(_matches(client, "zed")) == 8
    assert _matches(client, "c") == [] and _matches(client, "%") == [] and _matches(client, "_") == []

    page = client.get("/agent/tickets/new").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="customer_email"[^>]*>', page).group(0)
    assert 'list="customer-matches"' in field and 'hx-get="/agent/tickets/new/customers"' in field
    assert '<datalist id="customer-matches"></datalist>' in page


def test_customers_cannot_look_up_other_customers(client, login, desk):
    login(desk.customer)
    assert client.get("/agent/tickets/new/customers?customer_email=alice").status_code == 404
    client.post("/logout")
    response = client.get("/agent/tickets/new/customers?customer_email=alice")
    assert response.status_code in (302, 401) and b"alice@example.com" not in response.data


def _priority_options(page):
    """{label: selected?} of the form's priority select."""
    select = page.split('id="priority"', 1)[1].split("</select>", 1)[0]
    return {
        html.unescape(label): bool(sel)
        for sel, label in re.findall(r"<option( selected)?[^>]*>([^<]*)<", select)
    }


def _prices_note(page):
    found = re.search(r'<p class="hint" id="priority-prices"[^>]*>(.*?)</p>', page, re.S)
    return html.unescape(" ".join(found.group(1).split()))


def _priorities_for(client, desk, email, priority="High"):
    response = client.get(
        "/agent/tickets/new/priorities",
        query_string={
            "customer_email": email,
            "category": desk.it.id,
            "priority": desk.ref.priorities[priority].id,
        },
        headers=HTMX,
    )
    assert response.status_code == 200 and b"<html" not in response.data
    return response.get_data(as_text=True)


def test_once_the_customer_is_chosen_the_priorities_are_their_plans_with_their_prices(
    client, login, desk, make
):
    """List prices until the address is an existing customer's; then their plan's: a time bank
    bills time (the box charges nothing), a Free plan offers no paid priority, a bank that cannot
    pay says so. The choice is kept when the list comes again."""
    login(desk.tech_it)
    page = client.get("/agent/tickets/new").get_data(as_text=True)
    assert "High (150 credits)" in _priority_options(page) and "List prices." in _prices_note(page)
    assert 'hx-get="/agent/tickets/new/priorities"' in page and "change from:#customer_email" in page

    timed = bank("Time bank", 600, user=desk.requester)
    fragment = _priorities_for(client, desk, " ALICE@example.com ")
    options = _priority_options(fragment)
    assert options["High (agent time, 1 credit a minute)"] is True  # still the one chosen
    assert "High (150 credits)" not in options
    note = _prices_note(fragment)
    assert (
        "Alice Archer's plan: Time bank. It bills the time agents log on the ticket (1 credit a minute)"
        in note
    )
    assert "instead of a price per priority: ticking the box below charges nothing now" in note
    _post(client, desk, priority=desk.ref.priorities["High"].id, consent="y")  # as the list said
    (ticket,) = _tickets()
    assert ticket.paid_credits == 0 and balance_of(timed) == 600

    fragment = _priorities_for(client, desk, "carl@example.com")  # no bank: the default plan, Free
    options = _priority_options(fragment)
    assert "High (not in their plan: only at no charge)" in options and "Normal (free)" in options
    assert "Carl Customer's plan: Free. It has no credits" in _prices_note(fragment)

    bank("Pay as you go", 100, user=desk.subscriber)
    fragment = _priorities_for(client, desk, "sam@example.com")
    assert "High (150 credits, more than their bank can pay)" in _priority_options(fragment)
    assert "Their bank holds 100 credits." in _prices_note(fragment)

    for nobody in ("new.caller@example.com", "sara@example.com", ""):  # new, an agent, blank
        fragment = _priorities_for(client, desk, nobody)
        assert "High (150 credits)" in _priority_options(fragment) and "List prices." in _prices_note(
            fragment
        )


def test_without_javascript_the_customers_prices_come_on_asking_or_on_the_refused_form(client, login, desk):
    login(desk.tech_it)
    asked = _post(client, desk, customer_email="carl@example.com", priority=desk.ref.priorities["High"].id,
                  show_prices="1", consent="y")  # fmt: skip
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and _tickets() == []
    assert "High (not in their plan: only at no charge)" in _priority_options(page)
    assert "Printer on fire" in page and 'class="errors"' not in page  # kept, nothing refused yet
    assert 'name="show_prices"' in page and "nojs-only" in page

    refused = _post(client, desk, customer_email="carl@example.com", priority=desk.ref.priorities["High"].id,
                    consent="y")  # fmt: skip
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "plan does not offer High" in page and _tickets() == []
    assert "High (not in their plan: only at no charge)" in _priority_options(page)
    assert "Carl Customer's plan: Free." in _prices_note(page)


def test_customers_cannot_read_another_customers_prices(client, login, desk):
    login(desk.customer)
    response = client.get("/agent/tickets/new/priorities?customer_email=alice@example.com", headers=HTMX)
    assert response.status_code == 404
