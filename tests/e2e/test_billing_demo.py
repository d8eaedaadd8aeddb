"""Browser journey with the demo payment provider: buy a pack, land on success, see the balance grow."""

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import make_test_config

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-demo-password"


@pytest.fixture
def billing_server(tmp_path):
    """The app on a file SQLite database with the demo provider on, served from a thread."""
    config = make_test_config(
        f"sqlite:///{tmp_path / 'billing-e2e.sqlite3'}",
        str(tmp_path),
        DEMO_PAYMENTS=True,
        WTF_CSRF_ENABLED=True,
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
        _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _seed(app):
    from helpdesk.models import ServicePlan, User
    from helpdesk.services.accounts import hash_password
    from helpdesk.services.seed import seed_credit_packs

    db.session.add(ServicePlan(name="Pay as you go", credits_enabled=True, is_default=True))
    db.session.add(User(email="buyer@example.com", name="Bea Buyer", password_hash=hash_password(PASSWORD)))
    seed_credit_packs()
    db.session.commit()


@pytest.fixture
def billing_page():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Chromium not installed: `apt-get install -y chromium` to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context().new_page()
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def test_buy_a_pack_with_the_demo_provider(billing_server, billing_page):
    from playwright.sync_api import expect

    page = billing_page
    page.goto(billing_server + "/login")
    page.get_by_label("E-mail").fill("buyer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Credits").click()
    expect(page.locator("#balance-personal")).to_have_text("0 credits")
    page.get_by_role("button", name="Buy Team").click()

    expect(page.get_by_role("heading", name="Demo checkout")).to_be_visible()
    page.get_by_role("button", name="Pay 100.00 USD").click()

    expect(page.get_by_text("1200 credits were added")).to_be_visible()
    page.get_by_role("link", name="Back to credits").click()
    expect(page.locator("#balance-personal")).to_have_text("1200 credits")
    expect(page.get_by_role("cell", name="Paid")).to_be_visible()
