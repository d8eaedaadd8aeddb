"""The agent console's navigation (issue 17 item 2, issue 16's views): the sidebar's views with
their counts, the admin sections for admins, the top bar's search, what to act on and the profile
menu; customers keep the simple navigation."""

import re
from datetime import timedelta

import pytest

from helpdesk.dbtypes import utcnow
from helpdesk.tickets import queue, views_builtin

from .agent_support import HTMX

VIEWS = {v.key: v for v in views_builtin.BUILT_IN}
VIEW_URLS = {
    "attention": "/agent/",
    "mine": "/agent/?assignee=me",
    "unassigned": "/agent/?assignee=unassigned",
    "waiting": "/agent/?status=waiting",
    "at_risk": "/agent/?risk=1",
}


@pytest.fixture
def busy_desk(desk, make):
    """Tickets of every kind in IT and in Sales: assigned to the IT technician, to the Sales
    technician, to nobody; waiting; at risk (reply-by warning passed, resolve-by warning passed);
    resolved and closed (never counted)."""
    now = utcnow()
    normal = desk.ref.priorities["Normal"]
    for category, agent in ((desk.it, desk.tech_it), (desk.sales, desk.tech_sales)):
        for n, (status, assignee, replied, warn) in enumerate(
            [
                ("new", None, None, None),
                ("open", agent, now - timedelta(hours=1), None),
                ("open", agent, None, now - timedelta(minutes=5)),  # reply-by at risk
                ("open", None, now - timedelta(hours=2), "resolve"),  # resolve-by at risk
                ("waiting", agent, now - timedelta(hours=3), None),
                ("waiting", None, now - timedelta(hours=3), None),
                ("resolved", agent, now - timedelta(hours=4), None),
                ("closed", None, now - timedelta(hours=4), None),
            ]
        ):
            ticket = make.ticket(
                subject=f"{category.name} case {n}",
                requester=desk.requester,
                category=category,
                priority=normal,
                status=status,
                assignee=assignee,
                first_response_at=replied,
            )
            if warn == "resolve":
                ticket.resolution_due_at = now + timedelta(hours=1)
                ticket.resolution_warn_at = now - timedelta(minutes=1)
            elif warn is not None:
                ticket.response_warn_at = warn
    make.ticket(  # past its reply-by time: red, at risk too
        subject="IT overdue",
        requester=desk.requester,
        category=desk.it,
        priority=normal,
        status="new",
        due_at=now - timedelta(minutes=1),
    )
    from helpdesk.extensions import db

    db.session.flush()
    return desk


def listed(client, url):
    """Every ticket id the queue lists at `url`, following its Next page links to the end."""
    ids = []
    while url:
        page = client.get(url).get_data(as_text=True)
        ids += [int(i) for i in re.findall(r'<a href="/agent/tickets/(\d+)">', page)]
        following = re.search(r'<a href="([^"]+)" rel="next"', page)
        url = following.group(1).replace("&amp;", "&") if following else None
    return ids


def counts_shown(client):
    """{view key: count} as the sidebar's counts fragment says them."""
    fragment = client.get("/agent/views", headers=HTMX).get_data(as_text=True)
    found = re.findall(r'id="view-count-(\w+)" class="count" hx-swap-oob="true">([\d,]+)<', fragment)
    return {key: int(value.replace(",", "")) for key, value in found}


@pytest.mark.parametrize("who", ["admin", "tech_it", "tech_sales"])
def test_each_views_count_is_what_its_queue_lists(client, login, busy_desk, app, who, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 3)  # the queue's pages are followed to the end
    # ETags fingerprint the settings once per app (conditional._deployment): this test's own, put
    # back afterwards, so the shared app's ETags never carry PER_PAGE=3 into other tests.
    monkeypatch.setitem(app.extensions, "helpdesk_deployment", ("test", "PER_PAGE=3"))
    login(getattr(busy_desk, who))
    counts = counts_shown(client)
    assert set(counts) == set(VIEW_URLS)
    for key, url in VIEW_URLS.items():
        ids = listed(client, url)
        assert len(ids) == len(set(ids)) == counts[key], key


def test_a_technician_never_counts_the_other_categorys_tickets(client, login, busy_desk, app):
    login(busy_desk.tech_sales)
    sales = counts_shown(client)
    login(busy_desk.admin)
    everyone = counts_shown(client)
    # Sales: 6 active tickets of the fixture's own plus "Quote please"; IT has one more (overdue).
    assert sales == {"attention": 7, "mine": 3, "unassigned": 4, "waiting": 2, "at_risk": 2}
    assert everyone == {"attention": 15, "mine": 0, "unassigned": 9, "waiting": 4, "at_risk": 5}
    login(busy_desk.tech_sales)
    page = client.get("/agent/?risk=1").get_data(as_text=True)
    assert "Sales case 2" in page and "IT case 2" not in page and "IT overdue" not in page


def test_counts_fragment_answers_304_when_nothing_changed(client, login, busy_desk, make):
    login(busy_desk.tech_it)
    first = client.get("/agent/views", headers=HTMX)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "<html" not in first.get_data(as_text=True)
    again = client.get("/agent/views", headers={**HTMX, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    make.ticket(subject="One more", requester=busy_desk.requester, category=busy_desk.it)
    changed = client.get("/agent/views", headers={**HTMX, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200


def test_views_page_without_javascript_lists_each_view_with_its_count(client, login, busy_desk):
    login(busy_desk.tech_sales)
    page = client.get("/agent/views").get_data(as_text=True)
    assert "<h1>Views</h1>" in page
    assert '<a href="/agent/?assignee=me">Mine</a>: 3 tickets' in page
    assert '<a href="/agent/?risk=1">At risk</a>: 2 tickets' in page


def sidebar(page):
    return page.split('<nav class="sidebar" aria-label="Console">', 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize("url", ["/agent/", "/agent/reports", "/agent/kb/"])
def test_sidebar_on_agent_pages_with_plain_view_links(client, login, desk, url):
    login(desk.tech_it)
    page = client.get(url, follow_redirects=True).get_data(as_text=True)
    side = sidebar(page)
    for key, view_url in VIEW_URLS.items():
        assert f'href="{view_url.replace("&", "&amp;")}"' in side
        assert f'<span id="view-count-{key}" class="count"></span>' in side  # filled in after load
    assert 'hx-get="/agent/views" hx-trigger="load, helpdesk:changed from:body"' in side


def test_sidebar_on_the_ticket_page(client, login, desk):
    login(desk.tech_it)
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert (
        ">Needs attention <span" in sidebar(page)
        and 'aria-current="page"' not in sidebar(page).split("Desk")[0]
    )


def test_current_view_is_marked(client, login, desk):
    login(desk.tech_it)
    side = sidebar(client.get("/agent/?assignee=me").get_data(as_text=True))
    assert re.search(r'<a href="/agent/\?assignee=me" aria-current="page">Mine', side)
    assert side.count('aria-current="page"') == 1
    side = sidebar(client.get("/agent/").get_data(as_text=True))
    assert re.search(r'<a href="/agent/" aria-current="page">Needs attention', side)
    side = sidebar(client.get("/agent/?assignee=me&category=1").get_data(as_text=True))
    assert 'aria-current="page"' not in side  # filtered by hand: no view


def test_admin_sections_in_the_sidebar_for_admins_only(client, login, desk):
    login(desk.admin)
    side = sidebar(client.get("/agent/").get_data(as_text=True))
    assert 'aria-labelledby="sidebar-admin"' in side
    assert '<a href="/admin/">Overview</a>' in side and ">Categories</a>" in side
    page = client.get("/admin/categories").get_data(as_text=True)
    assert re.search(r'<a href="/admin/categories" aria-current="page">Categories</a>', sidebar(page))
    login(desk.tech_it)
    page = client.get("/agent/").get_data(as_text=True)
    assert "Administration" not in page and "/admin/" not in page


def test_agents_have_no_customer_pages_in_their_navigation(client, login, desk):
    for agent in (desk.admin, desk.tech_it):
        login(agent)
        page = client.get("/agent/").get_data(as_text=True)
        assert ">New ticket<" not in page and "/portal/tickets/new" not in page
        assert "My tickets" not in page and '"/portal/tickets"' not in page
        assert '<a href="/agent/?assignee=me">Mine' in page  # their "My tickets"


def test_customers_keep_the_simple_navigation(client, login, desk):
    login(desk.requester)
    page = client.get("/portal/tickets").get_data(as_text=True)
    main_nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert (
        ">My tickets</a>" in main_nav and ">New ticket</a>" in main_nav and ">Knowledge base</a>" in main_nav
    )
    assert '<nav class="sidebar"' not in page and "Search tickets" not in page


def test_top_bar_search_lands_on_the_queue_filtered(client, login, desk):
    login(desk.tech_it)
    page = client.get("/agent/reports").get_data(as_text=True)
    form = re.search(
        r'<form method="get" action="([^"]+)" class="top-search" role="search"[^>]*>(.*?)</form>', page, re.S
    )
    assert form and form.group(1) == "/agent/"
    assert '<label for="top-search-q" class="visually-hidden">Search tickets</label>' in form.group(2)
    assert 'name="q"' in form.group(2)
    found = client.get("/agent/?q=VPN").get_data(as_text=True)
    assert "VPN drops" in found and "Quote please" not in found
    assert 'id="top-search-q" name="q" maxlength="200" placeholder="Words in tickets" value="VPN"' in found


def test_top_bar_links_what_to_act_on(client, login, desk, make):
    from helpdesk.mail.models import InboundMail

    login(desk.admin)
    page = client.get("/agent/").get_data(as_text=True)
    top = page.split('<nav class="top-links" aria-label="To act on">', 1)[1].split("</nav>", 1)[0]
    assert (
        '<a href="/agent/?risk=1"><span class="label">At risk</span> <span id="top-count-at_risk" class="count"></span></a>'
        in top
    )
    assert "Held mail" not in top
    from helpdesk.extensions import db

    db.session.add(InboundMail(from_addr="x@example.org", subject="Hi", outcome="unverified", size=1))
    db.session.flush()
    top = client.get("/agent/").get_data(as_text=True).split('aria-label="To act on">', 1)[1]
    assert (
        '<a href="/admin/mail/inbound?outcome=unverified"><span class="label">Held mail (1)</span></a>' in top
    )
    login(desk.tech_it)
    assert "Held mail" not in client.get("/agent/").get_data(as_text=True)
    fragment = client.get("/agent/views", headers=HTMX).get_data(as_text=True)
    assert 'id="top-count-at_risk" class="count" hx-swap-oob="true">' in fragment


def test_profile_menu_logs_out_with_a_csrf_post(client, login, desk):
    login(desk.tech_it)
    page = client.get("/agent/").get_data(as_text=True)
    menu = page.split('<details class="profile-menu">', 1)[1].split("</details>", 1)[0]
    assert "<summary>Ivan IT <span" in menu and "(technician)" in menu
    assert '<a href="/account">Profile</a>' in menu
    form = re.search(
        r'<form method="post" action="/logout">\s*<input type="hidden" name="csrf_token" value="[^"]+">', menu
    )
    assert form
    assert client.get("/logout").status_code == 405


def test_counts_need_the_console(client, login, desk):
    login(desk.requester)
    assert client.get("/agent/views", headers=HTMX).status_code in (403, 404)


def test_more_views_count_alongside_with_their_own_values(app, busy_desk):
    """Issue 16's saved views are more View entries: each keeps its own values in the one query
    (two status views, two assignee views); what the aggregate cannot count (a search, a closed
    status) is counted on its own with the queue's WHERE, so it matches the list."""
    View = views_builtin.View
    views = (
        *views_builtin.BUILT_IN,
        View("new", "New", (("status", "new"),)),
        View("sara", "Sara's", (("assignee", str(busy_desk.tech_sales.id)),)),
        View(
            "sales_waiting", "Sales waiting", (("status", "waiting"), ("category", str(busy_desk.sales.id)))
        ),
        View("search", "VPN", (("q", "vpn"),)),
        View("resolved", "Resolved", (("status", "resolved"),)),
    )
    counts = views_builtin.view_counts(busy_desk.admin, views)
    assert counts["waiting"] == 4 and counts["new"] == 5 and counts["sara"] == 3
    assert counts["sales_waiting"] == 2 and counts["mine"] == 0
    for key in ("search", "resolved"):
        view = next(v for v in views if v.key == key)
        listed = queue.queue_page(busy_desk.admin, view.queue_args().criteria(), 100).rows
        assert counts[key] == len(listed)


def test_without_javascript_the_sidebar_links_the_counts_page(client, login, desk):
    login(desk.tech_it)
    side = sidebar(client.get("/agent/").get_data(as_text=True))
    assert (
        '<noscript><p class="hint"><a href="/agent/views">Count the tickets of each view</a></p></noscript>'
        in side
    )
