"""Browser journeys of buying credits: the demo provider end to end, and the success page polling."""

import json
import threading
import urllib.request

import pytest
import stripe
from werkzeug import Response
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.conftest import SERVER_POLL, make_test_config
from tests.e2e.conftest import read_whole

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-demo-password"


@pytest.fixture
def serve(tmp_path):
    """serve(**config) -> base URL of the app on a file SQLite database, served from a thread."""
    started = []

    def start(**overrides):
        config = make_test_config(
            f"sqlite:///{tmp_path / 'billing-e2e.sqlite3'}",
            str(tmp_path),
            WTF_CSRF_ENABLED=True,
            **overrides,
        )
        app = create_app(config)
        with app.app_context():
            db.create_all()
            _seed(app)
        server = make_server("127.0.0.1", 0, read_whole(app), threaded=True)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": SERVER_POLL}, daemon=True
        )
        thread.start()
        started.append((app, server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for app, server, thread in started:
        server.shutdown()
        thread.join(5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def billing_server(serve):
    """The app with the demo payment provider on."""
    return serve(DEMO_PAYMENTS=True)


def _seed(app):
    from helpdesk.accounts.auth import hash_password
    from helpdesk.accounts.models import User
    from helpdesk.billing.models import PlanPrice
    from helpdesk.credits.models import ServicePlan
    from helpdesk.demo.seed import seed_credit_packs

    payg = ServicePlan(name="Pay as you go", credits_enabled=True, is_default=True)
    business = ServicePlan(name="Business", credits_enabled=True, monthly_allowance=1000)
    db.session.add_all([payg, business])
    db.session.add(User(email="buyer@example.com", name="Bea Buyer", password_hash=hash_password(PASSWORD)))
    seed_credit_packs()
    db.session.flush()
    db.session.add(
        PlanPrice(plan_id=business.id, stripe_price_id="price_demo_business", fallback_plan_id=payg.id)
    )
    db.session.commit()


@pytest.fixture
def billing_page(page):
    """The shared browser page (tests/e2e/conftest.py launches one Chromium per session)."""
    return page


def log_in(page, base):
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill("buyer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_buy_a_pack_with_the_demo_provider(billing_server, billing_page):
    from playwright.sync_api import expect

    page = billing_page
    log_in(page, billing_server)

    page.get_by_role("link", name="Buy credits").click()
    expect(page.locator("#bank-balance")).to_have_text("0 credits")
    page.get_by_role("button", name="Buy Team").click()

    expect(page.get_by_role("heading", name="Demo checkout")).to_be_visible()
    page.get_by_role("button", name="Pay 100.00 USD").click()

    expect(page.get_by_text("1,200 credits were added")).to_be_visible()
    page.get_by_role("link", name="Back to credits").click()
    expect(page.locator("#bank-balance")).to_have_text("1,200 credits")
    expect(page.get_by_role("cell", name="Paid")).to_be_visible()


def test_subscribe_to_a_monthly_plan_and_cancel_it_with_the_demo_provider(billing_server, billing_page):
    from playwright.sync_api import expect

    page = billing_page
    log_in(page, billing_server)
    page.get_by_role("link", name="Buy credits").click()
    page.get_by_role("button", name="Subscribe to Business").click()

    expect(page.get_by_role("heading", name="Demo subscription checkout")).to_be_visible()
    page.get_by_role("button", name="Subscribe to Business").click()
    expect(
        page.get_by_text("The subscription starts as soon as the card payment is confirmed")
    ).to_be_visible()
    expect(page.locator("#bank-balance")).to_have_text("1,000 credits")
    expect(page.locator("#subscription")).to_contain_text("Active")

    page.get_by_role("button", name="Manage card or cancel").click()
    expect(page.get_by_role("heading", name="Demo customer portal")).to_be_visible()
    page.get_by_role("button", name="Cancel subscription").click()
    page.get_by_role("link", name="Back to credits").click()
    expect(page.locator("#subscription")).to_contain_text("Cancelled")
    expect(page.locator("#subscription")).to_contain_text("then the bank moves to Pay as you go")


def test_set_up_an_automatic_top_up_with_the_demo_provider(billing_server, billing_page):
    from playwright.sync_api import expect

    page = billing_page
    log_in(page, billing_server)
    page.get_by_role("link", name="Buy credits").click()
    page.get_by_label("When the balance falls under (credits)").fill("100")
    page.get_by_label("Buy this pack").select_option(label="Team: 1,200 credits")
    page.get_by_role("button", name="Save a card and turn on").click()

    expect(page.get_by_role("heading", name="Demo card setup")).to_be_visible()
    page.get_by_role("button", name="Save a test card that pays").click()
    expect(page.locator("#top-up-rule")).to_contain_text(
        "When the balance falls under 100 credits, Team (1,200 credits for 100.00 USD) is bought"
    )


def test_success_page_polls_until_the_webhook_credits(serve, billing_page, httpserver, monkeypatch):
    """With Stripe (a local fake), the success page keeps polling and updates when the webhook lands."""
    from playwright.sync_api import expect

    monkeypatch.setattr(stripe, "enable_telemetry", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    holder = {}

    def create_session(request):
        # "Paying" at the fake Stripe sends the browser straight back to our return address.
        session = {"id": "cs_test_e2e", "object": "checkout.session", "url": holder["return"]}
        return Response(json.dumps(session), content_type="application/json")

    httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_handler(create_session)
    base = serve(
        STRIPE_SECRET_KEY="sk_test_fake",
        STRIPE_WEBHOOK_SECRET=bs.WEBHOOK_SECRET,
        STRIPE_API_BASE=httpserver.url_for("").rstrip("/"),
    )
    holder["return"] = base + "/billing/checkout/return?session_id=cs_test_e2e"
    page = billing_page
    log_in(page, base)
    page.goto(base + "/billing/")
    page.get_by_role("button", name="Buy Starter").click()
    expect(page.get_by_text("Payment received, crediting your bank")).to_be_visible()

    event = {
        "id": "evt_e2e_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_e2e",
                "object": "checkout.session",
                "amount_total": 5000,
                "currency": "usd",
                "payment_status": "paid",
                "payment_intent": "pi_e2e",
            }
        },
    }
    payload = json.dumps(event)
    request = urllib.request.Request(
        base + "/billing/webhook", data=payload.encode(), headers=bs.signed_headers(payload), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    expect(page.get_by_text("500 credits were added")).to_be_visible(timeout=15_000)
