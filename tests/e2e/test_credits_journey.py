"""Browser journeys for credits: a live quote, a paid submission, and a short customer's view."""

import threading

import pytest
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db
from tests.conftest import SERVER_POLL, make_test_config
from tests.e2e.conftest import read_whole
from tests.e2e.registration_support import register_and_confirm

pytestmark = pytest.mark.e2e


class ServedDesk(str):
    """The served desk's base URL (a str, as the journeys format it), with its app at `.app`."""

    app = None


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """(Overrides the conftest fixture: one seeded demo help desk for the module.) The app on a file SQLite database (created and seeded), served by werkzeug in a thread."""
    folder = tmp_path_factory.mktemp("credits-e2e")
    app = create_app(
        make_test_config("sqlite:///" + str(folder / "e2e.sqlite3"), str(folder), WTF_CSRF_ENABLED=True)
    )
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, read_whole(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SERVER_POLL}, daemon=True)
    thread.start()
    served = ServedDesk(f"http://127.0.0.1:{server.server_port}")
    served.app = app
    yield served
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


def log_in(page, base, email):
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)  # customers land in the portal, agents in the queue


def test_business_customer_buys_urgent_with_a_live_quote(live_server, page):
    from playwright.sync_api import expect

    log_in(page, live_server, "alice@example.com")
    page.goto(f"{live_server}/portal/tickets/new")
    quote = page.locator("#priority-quote")
    expect(quote).to_contain_text("Normal: free")
    page.get_by_label("Urgent — response within 1 h of business hours — 250 credits").check()
    expect(quote).to_contain_text("Urgent: 250 credits")
    expect(quote).to_contain_text("balance 1,000 → 750")
    expect(quote).to_contain_text("response by")
    page.get_by_label("Category").select_option(label="IT")
    page.get_by_label("Subject").fill("Production database is down")
    page.get_by_label("Describe the problem").fill("Every request fails since 10:02.")
    page.get_by_role("button", name="Submit ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Production database is down")
    expect(page.locator(".ticket-meta")).to_contain_text("250 credits")
    page.get_by_role("link", name="Credits", exact=True).click()
    expect(page.locator(".balance")).to_have_text("750 credits")


def test_back_and_submit_again_asks_before_a_second_charge(live_server, page):
    """The audit's journey: submit a paid ticket, press Back (the browser refills the form on a
    page fetched anew, with a new key), press Submit again: asked first, nothing charged twice.
    Carol's (Acme's shared bank): the module's other tests count on Alice's balance."""
    from playwright.sync_api import expect

    log_in(page, live_server, "carol@acme.example")
    page.goto(f"{live_server}/portal/credits")
    before = page.locator(".balance").inner_text()
    page.goto(f"{live_server}/portal/tickets/new")
    page.get_by_label("Category").select_option(label="IT")
    page.get_by_label("High — response within 4 h of business hours — 150 credits").check()
    page.get_by_label("Subject").fill("Back and submit again")
    page.get_by_label("Describe the problem").fill("The printer prints blank pages.")
    page.get_by_role("button", name="Submit ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Back and submit again")
    number = page.url.rsplit("/", 1)[1]
    page.go_back()
    page.get_by_label("Subject").fill("Back and submit again")  # as the browser refills it
    page.get_by_label("Describe the problem").fill("The printer prints blank pages.")
    page.get_by_label("Category").select_option(label="IT")
    page.get_by_label("High — response within 4 h of business hours — 150 credits").check()
    page.get_by_role("button", name="Submit ticket").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"You submitted this ticket a moment ago as #{number}"
    )
    expect(page.locator("main")).to_contain_text("(High, 150 credits charged)")
    page.get_by_role("button", name=f"Open #{number}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Back and submit again")
    assert f"/portal/tickets/{number}" in page.url
    page.get_by_role("link", name="Credits", exact=True).click()
    spent = int(before.split()[0].replace(",", "")) - 150
    expect(page.locator(".balance")).to_have_text(f"{spent:,} credits")


def test_short_customer_sees_the_disabled_option_and_shortfall(live_server, page):
    from playwright.sync_api import expect

    register_and_confirm(
        page,
        live_server,
        live_server.app,
        name="Sam Short",
        email="sam@example.com",
        password="a-long-password",
        plan="Pay as you go",
    )
    page.goto(f"{live_server}/portal/tickets/new")
    urgent = page.get_by_label("Urgent — response within 1 h of business hours — 250 credits")
    expect(urgent).to_be_disabled()
    expect(page.locator(".shortfall").last).to_contain_text("Short by 150 credits")
    expect(page.get_by_role("link", name="Buy credits").first).to_be_visible()
    expect(page.get_by_label("High — response within 4 h of business hours — 150 credits")).to_be_disabled()
    expect(page.locator(".shortfall").first).to_contain_text("Short by 50 credits")


def test_agent_logs_time_and_admin_edits_a_tariff_without_reloads(live_server, page):
    from playwright.sync_api import expect

    log_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/agent/credits/tickets/1")
    panel = page.locator("#credit-panel")
    page.get_by_label("Minutes", exact=True).fill("15")
    page.get_by_label("Note", exact=True).fill("Checked the logs")
    page.get_by_role("button", name="Log time").click()
    expect(panel).to_contain_text("15 min")
    expect(panel.locator("td", has_text="Checked the logs")).to_be_visible()
    page.goto(f"{live_server}/admin/credits/tariffs")
    row = page.locator("form", has_text="Low")  # the other journeys do not depend on Low's target
    row.get_by_label("Response target (minutes)").fill("2880")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Saved.")
    page.reload()
    expect(page.locator("form", has_text="Low").get_by_label("Response target (minutes)")).to_have_value(
        "2880"
    )


def test_a_late_quote_for_an_earlier_choice_never_replaces_the_latest(live_server, page):
    """Choosing the category and then a priority asks for two quotes. Should the first answer come
    back last (a slow server, a busy desk), it must not replace the quote of what is chosen now:
    the quote's requests wait for one another (hx-sync on #priority-quote), the latest last."""
    from playwright.sync_api import expect

    log_in(page, live_server, "alice@example.com")
    page.goto(f"{live_server}/portal/tickets/new")
    page.wait_for_load_state("load")
    held = []
    page.route("**/quote*", lambda route: held.append(route) if not held else route.continue_())
    page.get_by_label("Category").select_option(label="IT")  # its quote (Normal) is held back
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)  # the route's handler runs while Playwright waits
    assert len(held) == 1
    page.get_by_label("Urgent — response within 1 h of business hours — 250 credits").check()
    page.wait_for_timeout(300)
    with page.expect_response(lambda response: "/quote" in response.url):
        held[0].continue_()  # the earlier quote's answer arrives now
    page.wait_for_timeout(500)  # and is swapped in, if nothing keeps it out
    expect(page.locator("#priority-quote")).to_contain_text("Urgent: 250 credits")
