"""How the agent ticket page feels from the keyboard: inline selects that only save on purpose,
confirmations before money moves, busy controls and focus after swaps (issue 17)."""

import re

import pytest

from helpdesk.extensions import db

pytestmark = pytest.mark.e2e

PASSWORD = "helpdesk-demo"


@pytest.fixture
def desk(live_server_factory):
    """The demo help desk with real CSRF and a paid Urgent ticket of Alice's."""
    from helpdesk.accounts.models import User
    from helpdesk.credits import submission
    from helpdesk.demo.seed import seed_demo
    from helpdesk.tickets.models import Category, Priority

    server = live_server_factory(WTF_CSRF_ENABLED=True)
    with server.app.app_context():
        seed_demo()
        alice = db.session.scalar(db.select(User).where(User.email == "alice@example.com"))
        submission.submit_ticket(
            alice,
            subject="Mail server refuses logins",
            body="Nobody can log in since 9:00.",
            category_id=db.session.scalar(db.select(Category.id).where(Category.name == "IT")),
            priority_id=db.session.scalar(db.select(Priority.id).where(Priority.name == "Urgent")),
            submission_key="e2e-feel-paid",
        )
        db.session.commit()
    return server


@pytest.fixture
def agent_page(browser, desk):
    """A technician logged in; the page records console errors and CSP violations."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.goto(desk.url + "/login")
    page.get_by_label("E-mail").fill("it.tech@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The queue and its scripts (deferred) loaded: acting earlier raced htmx's set-up on a loaded
    # machine (a filter change before htmx listened did nothing).
    page.get_by_role("heading", name="Queue").wait_for()
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    yield page
    context.close()


def _open(page, name):
    import re

    from playwright.sync_api import expect

    page.get_by_label("Status", exact=True).select_option(label="All")
    expect(page).to_have_url(re.compile(r"status=all"))
    word = name.split()[0].lower()
    page.get_by_label("Search", exact=True).fill(word)
    # The search swaps the table in, then puts its URL in the address bar: a click before that
    # landed on the table being replaced (the link is on both), and nothing opened.
    expect(page).to_have_url(re.compile(rf"q={word}"))
    page.get_by_role("link", name=name).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    # The ticket page's deferred scripts ran: a select changed before htmx listened is an ordinary
    # no-JavaScript select (it waits for its Save button), which raced the dialog under load.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")


def test_arrowing_through_the_status_saves_nothing_until_enter(agent_page):
    from playwright.sync_api import expect

    page = agent_page
    _open(page, "VPN drops every 10 minutes")
    history = page.locator("ol.history li")
    before = history.count()
    status = page.get_by_label("Status", exact=True)
    status.focus()
    # From the first option whatever an earlier test left the ticket at: two arrows always move.
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_text("Not saved yet")).to_be_visible()
    page.wait_for_timeout(500)
    expect(history).to_have_count(before)  # nothing saved, nothing mailed

    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Status saved: Waiting on customer.")).to_be_visible()
    expect(history).to_have_count(before + 1)
    expect(page.locator("ol.history")).to_contain_text("to Waiting on customer")
    assert page.problems == []


def test_escape_undoes_a_previewed_status(agent_page):
    from playwright.sync_api import expect

    page = agent_page
    _open(page, "VPN drops every 10 minutes")
    status = page.get_by_label("Status", exact=True)
    status.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    expect(status).to_have_value("new")
    expect(page.get_by_text("Not saved yet")).to_have_count(0)


def test_back_after_a_filter_change_raises_no_error(agent_page):
    from playwright.sync_api import expect

    page = agent_page
    page.get_by_label("Status", exact=True).select_option(label="All")
    expect(page).to_have_url(re.compile(r"status=all"))
    page.go_back()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.wait_for_timeout(300)
    assert page.problems == []


def test_leaving_the_search_box_asks_nothing_again_so_a_result_can_be_clicked(agent_page):
    """Typing searches; leaving the box afterwards ("change") must not send the same search again:
    that answer swapped the results in under the pointer and a click on one was lost."""
    from playwright.sync_api import expect

    page = agent_page
    searches = []
    page.on("request", lambda r: "q=mail" in r.url and searches.append(r.url))
    page.get_by_label("Search", exact=True).fill("mail")
    expect(page).to_have_url(re.compile(r"q=mail"))
    page.get_by_label("Search", exact=True).press("Tab")  # leaves the box: "change"
    page.wait_for_timeout(600)
    assert len(searches) == 1
    page.get_by_role("link", name="Mail server refuses logins").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Mail server refuses logins$"))
    assert page.problems == []


def test_lowering_a_paid_priority_asks_in_a_dialog_and_cancel_keeps_it(agent_page):
    from playwright.sync_api import expect

    page = agent_page
    _open(page, "Mail server refuses logins")
    priority = page.get_by_label("Priority", exact=True)
    priority.select_option(label="Low")
    dialog = page.get_by_role("dialog", name=re.compile(r"^Lower #\d+ to Low\?$"))
    expect(dialog).to_contain_text("Alice Archer gets")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(priority.locator("option:checked")).to_have_text("Urgent")  # the unsaved choice is undone
    expect(page.locator("#ticket-sidebar")).not_to_contain_text("changed priority")

    priority.select_option(label="Low")
    page.get_by_role("dialog").get_by_role("button", name="Lower and refund").click()
    saved = page.get_by_role("status").filter(has_text="Priority saved: Low")
    expect(saved).to_be_visible()
    expect(saved).to_be_focused()  # focus follows the new message
    assert page.problems == []


def test_a_resized_reply_box_is_swapped_without_a_csp_violation(agent_page):
    """The user's resize sets an inline style; htmx used to copy it onto the new textarea with
    setAttribute("style"), which style-src refuses. The fixture fails the test on any violation."""
    from playwright.sync_api import expect

    page = agent_page
    _open(page, "VPN drops every 10 minutes")
    box = page.get_by_label("Message", exact=True)
    box.evaluate("el => { el.style.height = '240px'; }")  # what dragging the corner does
    box.fill("Try the new client, please.")
    page.get_by_role("button", name="Send reply").click()
    notice = page.get_by_role("status").filter(has_text="Reply sent.")
    expect(notice).to_be_focused()
    assert page.problems == []


def test_an_oversize_file_is_refused_before_sending_and_the_text_stays(agent_page):
    from playwright.sync_api import expect

    page = agent_page
    _open(page, "VPN drops every 10 minutes")
    page.get_by_label("Message", exact=True).fill("Log attached.")
    big = {"name": "huge.log", "mimeType": "text/plain", "buffer": b"x" * (11 * 1024 * 1024)}
    page.get_by_label("Attach files", exact=True).set_input_files(big)
    check = page.get_by_role("alert").filter(has_text="huge.log is 11 MB; each file may be up to 10 MB.")
    expect(check).to_be_visible()
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_label("Attach files", exact=True)).to_be_focused()
    expect(page.get_by_label("Message", exact=True)).to_have_value("Log attached.")
    expect(page.locator(".message")).to_have_count(1)  # only the original: nothing was sent
    assert page.problems == []


@pytest.mark.browser_errors("status of 500", "Response Status Error Code 500", "responseError")
def test_a_failed_request_on_a_console_page_says_so_at_the_top_of_the_content(agent_page):
    """The server answering an htmx request with an error shows an alert in the page's content
    (on console pages #main sits inside the layout, not directly in <body>: the alert used to
    throw instead of showing)."""
    from playwright.sync_api import expect

    page = agent_page

    def fail_htmx(route):
        if route.request.headers.get("hx-request"):
            route.fulfill(status=500, body="broken")
        else:
            route.continue_()

    page.route(re.compile(r".*/agent/\?.*status=all.*"), fail_htmx)
    page.get_by_label("Status", exact=True).select_option(label="All")
    alert = page.locator("#main").get_by_role("alert").filter(has_text="error 500")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Nothing was saved")
    assert [p for p in page.problems if "500" not in p and "responseError" not in p] == []
