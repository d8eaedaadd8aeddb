"""The queue's select-all and bulk bar, and the console's keyboard shortcuts, in the browser."""

import re

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk(live_server):
    with live_server.app.app_context():
        seed_demo()
        db.session.commit()
    return live_server


def agent_page(browser, desk, email):
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(desk.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Queue").wait_for()
    expect(page.locator("#view-count-attention")).to_have_text(re.compile(r"^\d"))  # scripts ran
    return page


def test_the_bulk_bar_appears_with_a_selection_and_assign_to_follows_it(browser, desk):
    from playwright.sync_api import expect

    page = agent_page(browser, desk, "admin@example.com")
    bar = page.get_by_role("group", name="With selected tickets")
    expect(bar).to_be_hidden()  # nothing selected yet
    rows = page.get_by_role("checkbox", name=re.compile(r"^Select ticket"))
    total = rows.count()
    assert total > 2

    # The desk's own words in a column are never broken inside ("Unassigne d" on two lines).
    unassigned = page.get_by_role("cell", name="Unassigned", exact=True).first
    lines = "td => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; }"
    assert unassigned.evaluate(lines) == 1

    select_all = page.get_by_role("checkbox", name="Select all tickets on this page")
    first_row_at = rows.first.bounding_box()["y"]
    select_all.check()
    expect(bar).to_be_visible()
    # The bar shows at the foot of the window, over the list: no row moves, and the rows above it
    # are still there to tick (no empty band kept for it above the rows while hidden).
    assert rows.first.bounding_box()["y"] == first_row_at
    box = bar.bounding_box()
    assert abs(box["y"] + box["height"] - 800) <= 1, box
    assert first_row_at < 450, first_row_at
    expect(bar.get_by_role("status")).to_have_text(f"{total} tickets selected")
    for n in range(total):
        expect(rows.nth(n)).to_be_checked()
    rows.first.uncheck()
    expect(bar.get_by_role("status")).to_have_text(f"{total - 1} tickets selected")
    assert select_all.evaluate("box => box.indeterminate")
    select_all.uncheck()  # from mixed: none
    select_all.check()
    select_all.uncheck()
    expect(bar).to_be_hidden()

    # "Assign to" keeps only the agents allowed in every selected row's category.
    assign = page.get_by_label("Assign to")
    it_row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="IT", exact=True)).first
    sales_row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="Sales", exact=True)).first
    it_row.get_by_role("checkbox").check()
    expect(bar.get_by_role("status")).to_have_text("1 ticket selected")
    expect(assign.locator("option", has_text="Ivan IT")).to_be_enabled()
    expect(assign.locator("option", has_text="Sara Sales")).to_be_disabled()
    sales_row.get_by_role("checkbox").check()
    expect(assign.locator("option", has_text="Ivan IT")).to_be_disabled()
    expect(assign.locator("option", has_text="Ada Admin")).to_be_enabled()
    assign.select_option(label="Ada Admin")
    last = rows.last
    last.focus()  # a row the keyboard reaches is scrolled clear of the bar, not under it
    row_box, bar_box = last.bounding_box(), bar.bounding_box()
    assert row_box["y"] + row_box["height"] <= bar_box["y"], (row_box, bar_box)
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="2 tickets updated.")).to_be_visible()
    expect(bar).to_be_hidden()  # the new table starts with nothing selected


def test_keyboard_shortcuts_move_open_and_explain_themselves(browser, desk):
    from playwright.sync_api import expect

    page = agent_page(browser, desk, "it.tech@example.com")
    links = page.locator("#queue-table tbody tr td:nth-child(3) a")
    first, second = links.nth(0), links.nth(1)
    page.keyboard.press("j")
    expect(first).to_be_focused()
    expect(page.locator("#queue-table tbody tr").first).to_have_class(re.compile(r"\bkb-current\b"))
    page.keyboard.press("j")
    expect(second).to_be_focused()
    page.keyboard.press("k")
    expect(first).to_be_focused()

    # Typing in a field is never a shortcut.
    page.keyboard.press("/")
    search = page.get_by_label("Search", exact=True)
    expect(search).to_be_focused()
    page.keyboard.type("jk")
    expect(search).to_have_value("jk")
    expect(search).to_be_focused()
    search.fill("")
    expect(links.first).to_be_visible()  # the list is back
    search.blur()

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Reply (ticket page)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("j")  # on from the highlighted row
    subject = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("o")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(rf"^#\d+ {re.escape(subject)}$"))
    # the ticket page's deferred scripts (keys.js) listen from its load on: a key pressed as soon
    # as the heading showed was lost under a loaded machine
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    page.keyboard.press("r")
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    page.keyboard.type("r typed here, not a shortcut")
    expect(page.get_by_label("Message", exact=True)).to_have_value("r typed here, not a shortcut")
    page.get_by_label("Message", exact=True).blur()
    page.keyboard.press("a")  # through the sidebar's own form: the server's answer shows
    expect(page.get_by_role("status").filter(has_text="Assignee saved: Ivan IT")).to_be_visible()
    expect(page.get_by_label("Assignee", exact=True).locator("option:checked")).to_have_text("Ivan IT")
    page.evaluate("document.activeElement.blur()")  # away from the message the swap focused
    page.keyboard.press("e")
    expect(page.get_by_role("status").filter(has_text="Status saved: Resolved")).to_be_visible()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("n")  # the internal-note box, a form of its own apart from the reply's
    note_box = page.get_by_label("Internal note", exact=True)
    expect(note_box).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="Internal note: only agents see it")).to_have_count(1)
    page.keyboard.type("Vendor says: not a shortcut, n typed")
    expect(note_box).to_have_value("Vendor says: not a shortcut, n typed")
    expect(page.get_by_label("Message", exact=True)).to_have_value("r typed here, not a shortcut")
    page.get_by_role("button", name="Add internal note").click()
    expect(page.get_by_role("status").filter(has_text="Internal note added.")).to_be_visible()
    added = page.locator("#conversation article.message-internal").filter(has_text="Vendor says")
    expect(added).to_contain_text("Internal note")
    expect(page.get_by_label("Internal note", exact=True)).to_have_value("")
    # the reply box's text stayed through the note's swap, and went nowhere
    expect(page.get_by_label("Message", exact=True)).to_have_value("r typed here, not a shortcut")

    # The customer who asked sees the ticket, never the note.
    number = re.match(r"#(\d+)", page.get_by_role("heading", level=1).inner_text()).group(1)
    requester = re.search(r"<([^>]+)>", page.locator(".ticket-summary").inner_text()).group(1)
    customer = browser.new_context().new_page()
    customer.goto(desk.url + "/login")
    customer.get_by_label("E-mail").fill(requester)
    customer.get_by_label("Password").fill(DEMO_PASSWORD)
    customer.get_by_role("button", name="Log in").click()
    customer.goto(f"{desk.url}/portal/tickets/{number}")
    expect(customer.get_by_role("heading", level=1)).to_contain_text(subject)
    expect(customer.locator("main")).not_to_contain_text("Vendor says")
    customer.context.close()


def test_a_view_saved_after_filtering_in_place_keeps_those_filters_and_is_counted(browser, desk):
    from playwright.sync_api import expect

    page = agent_page(browser, desk, "admin@example.com")
    page.get_by_label("Status", exact=True).select_option(label="Waiting on customer")  # htmx: the table only
    expect(page).to_have_url(re.compile(r"status=waiting"))
    page.get_by_label("Sort by").select_option(label="Last update, oldest first")
    expect(page).to_have_url(re.compile(r"status=waiting.*sort=updated_asc"))
    rows = page.get_by_role("checkbox", name=re.compile(r"^Select ticket")).count()
    page.get_by_label("Save this view as").fill("Waiting, all of them")
    page.get_by_role("button", name="Save this view").click()
    expect(page.get_by_text("View “Waiting, all of them” saved")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/agent/\?status=waiting&sort=updated_asc$"))
    mine = page.get_by_role("navigation", name="Console").get_by_role(
        "link", name=re.compile(r"^Waiting, all of them")
    )
    expect(mine).to_have_attribute("aria-current", "page")
    expect(mine).to_have_accessible_name(f"Waiting, all of them {rows} ticket{'s' if rows != 1 else ''}")


def test_a_key_pressed_as_a_swap_lands_still_saves_through_htmx_without_reloading(browser, desk):
    """htmx binds swapped-in forms only once the swap settles (20 ms on): the assignee's answer
    replaces the sidebar, and `e` pressed in between used to send the status form as a plain form
    (a whole page reload, the reply box's unsaved text gone with it)."""
    from playwright.sync_api import expect

    page = agent_page(browser, desk, "it.tech@example.com")
    page.locator("#queue-table tbody tr td:nth-child(3) a").first.click()
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate(
        """() => {
          window.stayedOnThisPage = true;
          const pressE = (event) => {
            // the assignee's answer only (the presence and the KB panel swap too)
            if (event.detail.requestConfig.path.indexOf("/assignee") < 0) return;
            document.body.removeEventListener("htmx:afterSwap", pressE);
            document.body.dispatchEvent(new KeyboardEvent("keydown", {key: "e", bubbles: true}));
          };
          document.body.addEventListener("htmx:afterSwap", pressE);
        }"""
    )
    page.keyboard.press("a")
    expect(page.get_by_role("status").filter(has_text="Status saved: Resolved")).to_be_visible()
    expect(page.get_by_label("Assignee", exact=True).locator("option:checked")).to_have_text("Ivan IT")
    assert page.evaluate("() => window.stayedOnThisPage === true"), "the page was reloaded"
