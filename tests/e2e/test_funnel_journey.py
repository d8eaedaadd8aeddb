"""Browser journeys of issue 14's funnel on the seeded demo desk with the demo payment provider:
Bob buys in from the Free plan without losing his ticket, and an Acme member asks a manager."""

import threading

import pytest
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db
from tests.conftest import SERVER_POLL, make_test_config
from tests.e2e.conftest import read_whole

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_desk(tmp_path):
    """The seeded demo desk, with the demo payment provider and CSRF on, served from a thread."""
    config = make_test_config(
        "sqlite:///" + str(tmp_path / "funnel.sqlite3"),
        str(tmp_path),
        WTF_CSRF_ENABLED=True,
        DEMO_PAYMENTS=True,
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, read_whole(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SERVER_POLL}, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


def log_in(page, base, email):
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


URGENT = "Urgent — response within 1 h of business hours — 250 credits"


def urgent_id(page):
    return page.get_by_label(URGENT).get_attribute("value")


def test_bob_switches_to_pay_as_you_go_buys_a_pack_and_lands_back_on_his_draft(demo_desk, page):
    from playwright.sync_api import expect

    _app, base = demo_desk
    log_in(page, base, "bob@example.com")
    page.goto(f"{base}/portal/tickets/new")
    expect(page.locator(".priority-option.locked", has_text=URGENT)).to_contain_text("on Pay as you go")
    expect(page.get_by_label(URGENT)).to_have_count(0)  # shown, but no radio on the Free plan
    page.get_by_label("Category").select_option(label="IT")
    page.get_by_label("Subject").fill("Payroll run fails")
    page.get_by_label("Describe the problem").fill("The December payroll export aborts at step 3.")
    page.get_by_label("Attachments").set_input_files(
        files=[{"name": "export.log", "mimeType": "text/plain", "buffer": b"step 3: aborted\n"}]
    )

    page.get_by_role("button", name="Switch plan for Urgent").click()
    expect(page.get_by_role("heading", name="Your plan", exact=True)).to_be_visible()
    page.get_by_role("link", name="Switch to Pay as you go").click()
    expect(page.get_by_text("Your balance of 0 credits stays as it is.")).to_be_visible()
    page.get_by_role("button", name="Switch to Pay as you go").click()

    expect(page.get_by_text("You are now on the Pay as you go plan")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Payroll run fails")
    expect(page.get_by_label(URGENT)).to_be_disabled()
    expect(page.locator(f"#priority-{urgent_id(page)}-short")).to_contain_text("Short by 150 credits")
    page.get_by_role("button", name="Buy credits for Urgent").click()

    expect(page.locator("#waiting-draft")).to_contain_text("Payroll run fails")
    page.get_by_role("button", name="Buy Team").click()
    expect(page.get_by_role("heading", name="Demo checkout")).to_be_visible()
    page.get_by_role("button", name="Pay 100.00 USD").click()

    expect(page.get_by_text("Done: 1,200 credits were added")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Payroll run fails")
    expect(page.get_by_label("Describe the problem")).to_have_value(
        "The December payroll export aborts at step 3."
    )
    expect(page.get_by_label("Category")).to_have_value(
        page.get_by_role("option", name="IT").get_attribute("value")
    )
    expect(page.get_by_label("Remove export.log")).not_to_be_checked()  # the file is still with the form
    expect(page.get_by_label(URGENT)).to_be_enabled()
    expect(page.get_by_label(URGENT)).to_be_checked()
    expect(page.locator("#priority-quote")).to_contain_text("Urgent: 250 credits — balance 1,300 → 1,050")

    page.get_by_role("button", name="Submit ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Payroll run fails")
    expect(page.locator(".ticket-meta")).to_contain_text("250 credits")
    expect(page.get_by_role("link", name="export.log")).to_be_visible()


def test_an_acme_member_asks_a_manager_and_the_manager_buys(demo_desk, page):
    from playwright.sync_api import expect

    app, base = demo_desk
    with app.app_context():  # Acme's shared bank is down to 100 credits
        from helpdesk.accounts.models import Organization
        from helpdesk.credits import ledger

        acme = ledger.bank_for(db.session.scalar(db.select(Organization).filter_by(name="Acme")))
        ledger.post_entry(
            acme.id, 100 - acme.balance, "adjustment", idempotency_key="e2e:drain", memo="Spent"
        )
        db.session.commit()
        db.session.remove()

    log_in(page, base, "dave@acme.example")
    page.goto(f"{base}/portal/tickets/new")
    page.get_by_label("Category").select_option(label="IT")
    page.get_by_label("Subject").fill("Warehouse scanners offline")
    page.get_by_label("Describe the problem").fill("No scanner connects since the update.")
    expect(page.locator(f"#priority-{urgent_id(page)}-short")).to_contain_text("Short by 150 credits")
    page.get_by_role("button", name="Ask a manager for credits for Urgent").click()
    expect(page.get_by_text("Your request for 150 credits was sent to Carol Carter.")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Warehouse scanners offline")
    draft_url = page.url
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, "carol@acme.example")
    page.get_by_role("link", name="Notifications (1)").click()
    page.get_by_role(
        "link", name="Dave Dunn asks for 150 credits for “Warehouse scanners offline” (Urgent)"
    ).click()
    expect(page.locator("#credit-request")).to_contain_text("The Starter pack (500 credits) covers it.")
    page.get_by_role("button", name="Buy Starter").click()
    page.get_by_role("button", name="Pay 50.00 USD").click()
    expect(page.get_by_text("500 credits were added. The bank now holds 600 credits.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, "dave@acme.example")
    page.goto(draft_url)
    expect(page.get_by_label(URGENT)).to_be_enabled()
    expect(page.get_by_label(URGENT)).to_be_checked()
    page.get_by_role("button", name="Submit ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Warehouse scanners offline")
