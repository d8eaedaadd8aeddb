"""A technician filters the queue, opens a ticket, changes its status inline and adds a subscriber;
an admin over the seat limit sees the banner. Headless Chromium against a live server."""

import os
import re
import threading

import pytest
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import make_test_config

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "helpdesk-demo"


@pytest.fixture
def agent_live_server(tmp_path):
    """The demo help desk (3 agents) on a file SQLite database, with a seat limit of 2 and real CSRF."""
    from helpdesk.services.seed import seed_demo

    config = make_test_config(
        f"sqlite:///{tmp_path / 'agent-e2e.sqlite3'}",
        str(tmp_path),
        WTF_CSRF_ENABLED=True,
        AGENT_SEAT_LIMIT=2,
        UPGRADE_URL="https://billing.example.com/upgrade",
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def agent_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium not installed: `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def log_in(browser, base, email):
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def test_technician_works_a_ticket_and_admin_sees_seat_banner(agent_live_server, agent_browser):
    from playwright.sync_api import expect

    page = log_in(agent_browser, agent_live_server, "it.tech@example.com")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    expect(page.get_by_role("link", name="Quote for 50 extra licences")).to_have_count(0)  # Sales: not theirs

    # Filtering swaps only the table and keeps the filters in the address bar.
    page.get_by_label("Status", exact=True).select_option(label="All")
    expect(page).to_have_url(re.compile(r"status=all"))
    page.get_by_label("Search", exact=True).fill("vpn")
    expect(page).to_have_url(re.compile(r"q=vpn"))
    expect(page.get_by_role("link", name="Printer")).to_have_count(0)
    page.get_by_role("link", name="VPN drops every 10 minutes").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^#\d+ VPN drops every 10 minutes$")
    )
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

    admin = log_in(agent_browser, agent_live_server, "admin@example.com")
    banner = admin.get_by_role("alert").filter(has_text="3 agents on a plan for 2")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("link", name="upgrade")).to_have_attribute(
        "href", "https://billing.example.com/upgrade"
    )
