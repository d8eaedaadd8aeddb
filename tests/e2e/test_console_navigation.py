"""The agent console's navigation in the browser, on a laptop and on a phone: the sidebar's views
reached by keyboard, the current one marked, their counts filled in; the top bar's search and
profile menu."""

import re

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def desk(live_server):
    with live_server.app.app_context():
        seed_demo()
        db.session.commit()
    return live_server


def tab_to(page, locator, limit=80):
    """Press Tab until `locator` has focus (it is reachable by keyboard)."""
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{locator} is not reachable with Tab")


def agent_page(browser, desk, viewport, email="it.tech@example.com"):
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(desk.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Queue").wait_for()
    counted(page, "attention")
    return page


def counted(page, view):
    """Wait until the page has loaded its scripts and the counts (a view's count is filled in)."""
    from playwright.sync_api import expect

    expect(page.locator(f"#view-count-{view}")).to_have_text(re.compile(r"^\d"))


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_laptop_views_by_keyboard_with_counts_and_the_current_one_marked(browser, desk):
    from playwright.sync_api import expect

    page = agent_page(browser, desk, LAPTOP)
    sidebar = page.get_by_role("navigation", name="Console")
    attention = sidebar.get_by_role("link", name=re.compile(r"^Needs attention"))
    expect(attention).to_have_attribute("aria-current", "page")
    expect(attention).to_have_accessible_name(re.compile(r"^Needs attention \d+ tickets?$"))  # counted
    mine = sidebar.get_by_role("link", name=re.compile(r"^Mine"))
    tab_to(page, mine)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/agent/\?assignee=me$"))
    mine = page.get_by_role("navigation", name="Console").get_by_role("link", name=re.compile(r"^Mine"))
    expect(mine).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("navigation", name="Console").locator("[aria-current]")).to_have_count(1)
    assert (
        page.get_by_role("link", name="New ticket", exact=True).count() == 0
    )  # a customer's page, not theirs
    assert fits(page)

    # A bulk action on the queue changes the counts without leaving the page.
    count = page.locator("#view-count-mine")
    expect(count).to_have_text(re.compile(r"^\d+"))  # the counts load after the page
    before = int(count.inner_text().split()[0])
    page.get_by_label("Assignee", exact=True).select_option(label="Unassigned")  # active ones
    expect(page).to_have_url(re.compile(r"assignee=unassigned"))
    page.get_by_role("checkbox", name=re.compile(r"^Select ticket")).first.check()
    page.get_by_label("Assign to").select_option(label="Ivan IT")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="1 ticket updated.")).to_be_visible()
    expect(page.locator("#view-count-mine")).to_have_text(re.compile(rf"^{before + 1}\b"))


def test_phone_sidebar_folds_and_opens_by_keyboard(browser, desk):
    from playwright.sync_api import expect

    page = agent_page(browser, desk, PHONE)
    sidebar = page.get_by_role("navigation", name="Console")
    waiting = sidebar.get_by_role("link", name=re.compile(r"^Waiting on customer"))
    expect(waiting).to_be_hidden()  # folded under "Menu"
    assert fits(page)
    menu = sidebar.get_by_text("Menu", exact=True)
    tab_to(page, menu)
    page.keyboard.press("Enter")
    expect(waiting).to_be_visible()
    tab_to(page, waiting)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/agent/\?status=waiting$"))
    counted(page, "waiting")  # the page's scripts ran: the sidebar is folded again
    page.get_by_role("navigation", name="Console").get_by_text("Menu", exact=True).click()
    current = page.get_by_role("navigation", name="Console").locator("[aria-current=page]")
    expect(current).to_have_accessible_name(re.compile(r"^Waiting on customer"))
    assert fits(page)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_top_bar_search_and_profile_menu(browser, desk, viewport):
    from playwright.sync_api import expect

    page = agent_page(browser, desk, viewport, email="admin@example.com")
    page.get_by_label("Search tickets").fill("printer")
    page.get_by_label("Search tickets").press("Enter")
    expect(page).to_have_url(re.compile(r"/agent/\?q=printer$"))
    counted(page, "attention")
    expect(page.get_by_label("Search", exact=True)).to_have_value("printer")  # the queue's own filter
    at_risk = page.get_by_role("navigation", name="To act on").get_by_role(
        "link", name=re.compile(r"^At risk")
    )
    # only the words are underlined: not the space before the count, nor the count
    assert at_risk.evaluate("a => getComputedStyle(a).textDecorationLine") == "none"
    assert (
        at_risk.evaluate("a => getComputedStyle(a.querySelector('.label')).textDecorationLine") == "underline"
    )
    admin = page.get_by_role("navigation", name="Console")
    if viewport is PHONE:
        admin.get_by_text("Menu", exact=True).click()
    expect(admin.get_by_role("link", name="Categories")).to_be_visible()  # admins: their sections
    menu = page.get_by_role("banner").get_by_text(re.compile(r"^Ada Admin"))  # the profile menu
    menu.click()
    expect(page.get_by_role("link", name="Profile")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Profile")).to_be_hidden()
    menu.click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


@pytest.mark.parametrize("width", [860, 1024, 1180])
def test_on_a_small_laptop_the_sidebar_folds_and_the_queue_never_scrolls_the_page(browser, desk, width):
    """Between a phone and a laptop the queue's eleven columns got too little room beside the
    sidebar and pushed the page sideways: up to 1,200 px the sidebar folds under its "Menu", and
    what still does not fit scrolls inside the table's own box."""
    from playwright.sync_api import expect

    page = agent_page(browser, desk, {"width": width, "height": 800}, email="admin@example.com")
    page.goto(desk.url + "/agent/?status=all")
    counted(page, "attention")
    menu = page.locator("details.sidebar-fold")
    expect(menu).not_to_have_attribute("open", "")  # folded: the views are a click away
    expect(page.get_by_role("link", name=re.compile(r"^Mine"))).to_be_hidden()
    assert fits(page)
    page.get_by_text("Menu", exact=True).click()
    expect(page.get_by_role("link", name=re.compile(r"^Mine"))).to_be_visible()
    assert fits(page)


def box(locator):
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


@pytest.mark.browser_errors("status of 404")  # the missing ticket, logged by the browser
def test_on_a_laptop_the_queue_reads_well_and_short_pages_keep_the_console_s_shape(browser, desk):
    """At 1,280 px beside the sidebar: the queue's subjects keep room for a few words a line (they
    were squeezed to ~100 px, three lines each) and the table still fits; a short page (a 404)
    keeps the sidebar's rule down to the window's foot and its text beside the sidebar, not centred
    in what is left; the on-behalf form's e-mail field is as wide as the name under it."""
    from playwright.sync_api import expect

    page = agent_page(browser, desk, LAPTOP)
    page.goto(desk.url + "/agent/?status=all")
    counted(page, "attention")
    subject = page.locator("table.queue tbody tr").first.locator("td").nth(2)
    assert box(subject)["width"] >= 190
    table_box = page.locator(".queue-scroll")
    assert table_box.evaluate("el => el.scrollWidth <= el.clientWidth")  # no sideways scroll
    assert fits(page)

    page.goto(desk.url + "/agent/tickets/999999")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    sidebar = box(page.get_by_role("navigation", name="Console"))
    assert sidebar["y"] + sidebar["height"] >= LAPTOP["height"] - 1
    heading = box(page.get_by_role("heading", name="Not found"))
    assert heading["x"] - (sidebar["x"] + sidebar["width"]) < 40

    page.goto(desk.url + "/agent/tickets/new")
    email = box(page.get_by_label("Customer's e-mail"))
    name = box(page.get_by_label("Customer's name"))
    assert abs(email["width"] - name["width"]) < 2 and email["width"] > 600


def test_a_ticket_s_details_line_up_and_every_field_is_drawn_alike(browser, desk):
    """The ticket's details at 1,280 px: each field's Save on its row, the fields one width (they
    were of five widths, Status's Save on a line of its own); the merge field is drawn like the
    other fields (it had no type and showed the browser's bare box)."""
    from playwright.sync_api import expect

    page = agent_page(browser, desk, LAPTOP)
    page.locator("table.queue tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Knowledge base", exact=True)).to_be_visible()  # panels loaded
    details = page.get_by_role("complementary", name="Ticket details")
    names = ("Status", "Priority", "Category", "Assignee", "Tags")
    for name in names:  # each is there, by its label, with its own Save
        expect(details.get_by_label(name, exact=True)).to_be_visible()
        expect(details.get_by_role("button", name=f"Save {name.lower()}")).to_be_visible()
    # One snapshot of the layout (measured apart, a panel loading between two reads moves rows).
    rows = details.evaluate(
        """aside => [...aside.querySelectorAll("form.inline-edit")].map(form => {
            const field = form.querySelector("select, input[type=text]").getBoundingClientRect();
            const save = form.querySelector("button").getBoundingClientRect();
            return {middle: field.top + field.height / 2, saveMiddle: save.top + save.height / 2,
                    width: Math.round(field.width), saveX: Math.round(save.left)};
        })"""
    )
    assert len(rows) == len(names)
    for row in rows:
        assert abs(row["middle"] - row["saveMiddle"]) < 4  # Save on its field's row
    assert len({row["width"] for row in rows}) == 1 and len({row["saveX"] for row in rows}) == 1

    def border(locator):
        return locator.evaluate(
            "el => getComputedStyle(el).borderTopColor + ' ' + getComputedStyle(el).borderRadius"
        )

    assert border(page.get_by_label("Merge this ticket into #")) == border(
        page.get_by_label("Add subscriber by e-mail")
    )


def test_a_refused_merge_keeps_the_number_and_says_why_beside_it(browser, desk):
    """A merge into a number the agent cannot use is refused before anything is asked: the reason
    beside the field, what was typed still in it, the focus on it (it was a message at the top of
    a reloaded page, the typing lost)."""
    from playwright.sync_api import expect

    page = agent_page(browser, desk, LAPTOP)
    page.locator("table.queue tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Knowledge base", exact=True)).to_be_visible()  # panels loaded
    field = page.get_by_label("Merge this ticket into #")
    field.fill("99999")
    page.get_by_role("button", name="Merge…").click()
    expect(
        page.get_by_role("alert").filter(has_text="Give the number of a ticket you can see")
    ).to_be_visible()
    field = page.get_by_label("Merge this ticket into #")
    expect(field).to_have_value("99999")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.locator("dialog[open]")).to_have_count(0)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_customer_s_account_links_stay_together(browser, desk, width):
    """An organization's manager has seven portal links: at 1,280 px "Log out" wrapped alone onto
    a second line, away from her name and Profile. The three move as one, and on a phone the page
    still does not scroll sideways."""
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    page.goto(desk.url + "/login")
    page.get_by_label("E-mail").fill("carol@acme.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My tickets").wait_for()
    page.wait_for_load_state("load")  # measured with the stylesheet applied, not before it came
    header = page.get_by_role("banner")
    profile = box(header.get_by_role("link", name="Profile"))
    logout = box(header.get_by_role("button", name="Log out"))
    assert abs(profile["y"] - logout["y"]) < 4 and logout["x"] > profile["x"]
    assert fits(page)
    # The portal's links run across the width, under the desk's name on a phone: beside it they
    # were squeezed into a column, two or one per line, five lines of header before the page.
    mine = box(header.get_by_role("link", name="My tickets"))
    brand = box(header.get_by_role("link", name="Help desk"))
    if width < 600:
        assert mine["y"] >= brand["y"] + brand["height"] - 2 and abs(mine["x"] - brand["x"]) < 8
