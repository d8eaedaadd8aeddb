"""A list that htmx replaces (filters, paging, search) says what it now shows, in one sentence that
app.js reads out through the layout's status region: the replaced region itself is not announced,
and a live table would be read out whole."""

import re

from helpdesk.extensions import db

HX = {"HX-Request": "true"}


def announced(body, element_id):
    tag = re.search(rf'<[a-z]+ id="{element_id}"[^>]*>', body)[0]
    assert "aria-live" not in tag  # the region is replaced whole: #live-status speaks instead
    return re.search(r'data-announce="([^"]*)"', tag)[1]


def test_every_page_has_the_status_region_that_speaks_for_lists(client, login, make):
    login(make.customer())
    page = client.get("/portal/tickets").get_data(as_text=True)
    assert '<div id="live-status" class="visually-hidden" role="status" aria-atomic="true"></div>' in page


def test_the_customer_s_ticket_list_counts_what_it_shows(client, login, make, ref):
    customer = make.customer()
    for subject in ("Printer jams", "VPN drops"):
        make.ticket(
            subject=subject, requester=customer, category=ref.categories["IT"], priority=ref.priorities["Low"]
        )
    db.session.commit()
    login(customer)
    assert (
        announced(client.get("/portal/tickets", headers=HX).get_data(as_text=True), "ticket-list")
        == "2 tickets"
    )
    one = client.get("/portal/tickets?q=printer", headers=HX).get_data(as_text=True)
    assert announced(one, "ticket-list") == "1 ticket"
    none = client.get("/portal/tickets?q=zebra", headers=HX).get_data(as_text=True)
    assert announced(none, "ticket-list") == "No tickets"


def test_a_long_list_names_its_page(client, login, make, app):
    login(make.admin(email="admin@example.test"))
    for n in range(app.config["PER_PAGE"] + 1):
        make.customer(email=f"c{n}@example.test")
    db.session.commit()
    first = client.get("/admin/users", headers=HX).get_data(as_text=True)
    total = app.config["PER_PAGE"] + 2
    assert announced(first, "user-list") == f"{total} people, page 1 of 2"
    second = client.get("/admin/users?page=2", headers=HX).get_data(as_text=True)
    assert announced(second, "user-list") == f"{total} people, page 2 of 2"


def test_the_queue_counts_the_rows_of_its_page(client, login, desk):
    login(desk.tech_it)
    body = client.get("/agent/", headers=HX).get_data(as_text=True)
    assert announced(body, "queue-table") == "1 ticket on this page"  # IT's; Sales' is not theirs
    assert (
        announced(client.get("/agent/?q=zebra", headers=HX).get_data(as_text=True), "queue-table")
        == "No tickets"
    )
