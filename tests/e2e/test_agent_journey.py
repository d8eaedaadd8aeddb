"""A technician filters the queue, opens a ticket, changes its status inline and adds a subscriber;
an admin over the seat limit sees the banner. Headless Chromium against a live server."""

import re

import pytest

from helpdesk.extensions import db

pytestmark = pytest.mark.e2e

PASSWORD = "helpdesk-demo"


@pytest.fixture
def demo_desk(live_server_factory):
    """The demo help desk (3 agents) behind a live server, with a seat limit of 2 and real CSRF."""
    from helpdesk.demo.seed import seed_demo

    server = live_server_factory(
        WTF_CSRF_ENABLED=True, AGENT_SEAT_LIMIT=2, UPGRADE_URL="https://billing.example.com/upgrade"
    )
    with server.app.app_context():
        seed_demo()
        db.session.commit()
        _paid_ticket()
    return server.url


def _paid_ticket():
    """Alice (Business, 1,000 credits) pays 250 for an Urgent IT ticket."""
    from helpdesk.accounts.models import User
    from helpdesk.credits import submission
    from helpdesk.tickets.models import Category, Priority

    alice = db.session.scalar(db.select(User).where(User.email == "alice@example.com"))
    submission.submit_ticket(
        alice,
        subject="Mail server refuses logins",
        body="Nobody can log in since 9:00.",
        category_id=db.session.scalar(db.select(Category.id).where(Category.name == "IT")),
        priority_id=db.session.scalar(db.select(Priority.id).where(Priority.name == "Urgent")),
        submission_key="e2e-paid",
    )
    db.session.commit()


@pytest.fixture
def log_in(browser, demo_desk):
    """log_in(email) -> a page in its own browser context, logged in through the login form."""
    contexts = []

    def _log_in(email):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(demo_desk + "/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        # The filters swap the table by htmx: a change made before htmx has loaded is lost (the
        # queue's form has no submit-on-change without it), as a full suite's load showed once.
        page.wait_for_load_state("load")
        page.wait_for_function("() => window.htmx !== undefined")
        return page

    yield _log_in
    for context in contexts:
        context.close()


def test_technician_works_a_ticket_and_admin_sees_seat_banner(log_in):
    from playwright.sync_api import expect

    page = log_in("it.tech@example.com")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    expect(page.get_by_role("link", name="Quote for 50 extra licences")).to_have_count(0)  # Sales: not theirs

    # Filtering swaps only the table and keeps the filters in the address bar.
    page.get_by_label("Status", exact=True).select_option(label="All")
    expect(page).to_have_url(re.compile(r"status=all"))
    page.get_by_label("Search", exact=True).fill("vpn")
    expect(page).to_have_url(re.compile(r"q=vpn"))
    expect(page.get_by_role("link", name="Printer")).to_have_count(0)
    # ... and says what it now shows in the layout's status region, which a screen reader reads
    # out (the table itself, replaced whole, would not be).
    expect(page.locator("#live-status")).to_have_attribute("role", "status")
    expect(page.locator("#live-status")).to_have_text("1 ticket on this page")
    page.get_by_role("link", name="VPN drops every 10 minutes").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^#\d+ VPN drops every 10 minutes$")
    )
    # The status saves on change only once app.js has loaded (deferred); a choice made before that
    # waits for the Save button, as without JavaScript. Under a full suite's load CI chose first.
    page.wait_for_load_state("load")
    page.get_by_label("Status", exact=True).select_option(label="Waiting on customer")
    expect(page.get_by_role("status").filter(has_text="Status saved: Waiting on customer.")).to_be_visible()
    expect(page.locator("ol.history")).to_contain_text("changed status from New to Waiting on customer")

    page.get_by_label("Add subscriber by e-mail").fill("friend@example.com")
    page.get_by_role("button", name="Add subscriber").click()
    expect(
        page.get_by_role("status").filter(has_text="friend@example.com now follows this ticket.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Remove friend@example.com")).to_be_visible()

    # A second edit right after the first: the forms carry the new version, so it is not refused.
    page.get_by_label("Tags", exact=True).fill("network, remote")
    page.get_by_label("Tags", exact=True).press("Enter")
    expect(page.get_by_role("status").filter(has_text="Tags saved: network, remote.")).to_be_visible()

    # Bulk action from the queue, with the real CSRF token sent by htmx.
    page.get_by_role("link", name="Back to the queue").click()
    page.get_by_role("checkbox", name=re.compile(r"^Select ticket")).first.check()
    page.get_by_label("Assign to").select_option(label="Ada Admin")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="1 ticket updated.")).to_be_visible()

    # A paid ticket: marked in the queue; its page shows what was paid; lowering it refunds.
    page.get_by_label("Search", exact=True).fill("mail server")
    paid_row = page.get_by_role("row").filter(has_text="Mail server refuses logins")
    expect(paid_row).to_contain_text("250 credits")
    paid_row.get_by_role("link", name="Mail server refuses logins").click()
    panel = page.locator("#credit-panel")
    expect(panel).to_contain_text("Urgent — 250 credits")  # in the page itself
    # The confirmation is app.js's: a change made before the page's scripts ran would ask nothing.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("Priority", exact=True).select_option(label="Normal")
    dialog = page.get_by_role("dialog", name=re.compile(r"^Lower #\d+ to Normal\?$"))
    expect(dialog).to_contain_text("Alice Archer gets 250 credits back.")
    dialog.get_by_role("button", name="Lower and refund").click()
    expect(
        page.get_by_role("status").filter(
            has_text="Priority saved: Normal — 250 credits refunded to Alice Archer’s bank."
        )
    ).to_be_visible()
    expect(panel).to_contain_text("Normal — 0 credits")  # the panel reloads with the sidebar

    admin = log_in("admin@example.com")
    banner = admin.get_by_role("alert").filter(has_text="3 agents on a plan for 2")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("link", name="upgrade")).to_have_attribute(
        "href", "https://billing.example.com/upgrade"
    )
