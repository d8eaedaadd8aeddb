"""An admin registers a webhook endpoint, sees its secret, watches a signed delivery reach a real
receiver in the delivery log, redelivers it, and deletes the endpoint after confirming."""

import re

import pytest

from helpdesk.extensions import db
from tests.functional.webhook_support import Receiver

from .test_keyboard_journey import log_in

pytestmark = pytest.mark.e2e

# What sticks out of a narrow window, if anything (empty when the page fits).
WIDEST = """() => document.documentElement.scrollWidth <= window.innerWidth ? "" :
  [...document.querySelectorAll("main *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth)
    .slice(0, 3).map((e) => e.tagName + (e.id ? "#" + e.id : "") + " " + Math.round(e.getBoundingClientRect().width)).join(", ")"""


@pytest.fixture
def desk(live_server_factory):
    from helpdesk.demo.seed import seed_demo

    server = live_server_factory(WTF_CSRF_ENABLED=True, WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_ALLOW_HTTP=True)
    with server.app.app_context():
        seed_demo()
        db.session.commit()
    return server


def _deliver(app):
    from helpdesk.webhooks import delivery

    with app.app_context():
        counts = delivery.process_due()
        db.session.remove()
    return counts


@pytest.mark.browser_errors("status of 422")  # the refused form comes back with 422, as every refused form
def test_an_admin_sets_up_an_endpoint_and_follows_its_deliveries(browser, desk):
    from playwright.sync_api import expect

    from helpdesk.tickets import lifecycle
    from helpdesk.webhooks.models import WebhookEndpoint

    admin = browser.new_context().new_page()
    log_in(admin, desk.url, "admin@example.com")
    admin.wait_for_url(lambda url: "/login" not in url)
    admin.goto(desk.url + "/admin/")
    admin.get_by_role("link", name="Webhooks").first.click()
    expect(admin.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    admin.get_by_role("link", name="New endpoint").click()

    with Receiver() as receiver:
        admin.get_by_label("URL").fill(receiver.url)
        admin.get_by_role("button", name="Add endpoint").click()
        expect(admin.get_by_text("Choose at least one event to send.")).to_be_visible()
        expect(admin.get_by_label("URL")).to_have_value(receiver.url)  # nothing typed is lost
        admin.get_by_label("Ticket created").check()
        admin.get_by_role("button", name="Add endpoint").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Webhook endpoint #\d+$"))
        expect(admin.get_by_role("definition").first).to_have_text(receiver.url)
        secret = admin.get_by_label("Secret", exact=True).input_value()
        assert secret.startswith("whsec_")
        receiver.secret = secret

        with desk.app.app_context():
            from helpdesk.accounts.models import User
            from helpdesk.tickets.models import Category, Priority

            alice = db.session.scalar(db.select(User).where(User.email == "alice@example.com"))
            lifecycle.create_ticket(
                alice,
                subject="Webhook journey",
                body="Hello",
                category_id=db.session.scalar(db.select(Category.id).where(Category.name == "IT")),
                priority_id=db.session.scalar(db.select(Priority.id).where(Priority.name == "Low")),
            )
            db.session.commit()
            db.session.remove()
        assert _deliver(desk.app)["webhooks delivered"] == 1
        assert receiver.verified == [True]
        event_id = receiver.requests[0]["headers"]["Helpdesk-Event-Id"]

        admin.reload()
        log = admin.get_by_role("table", name="Delivery attempts, newest first")
        expect(log).to_contain_text("Delivered (200)")
        expect(log).to_contain_text(event_id)
        admin.get_by_role("button", name=f"Redeliver {event_id}").click()
        expect(admin.get_by_role("status").filter(has_text=f"Event {event_id} queued again")).to_be_visible()
        assert _deliver(desk.app)["webhooks delivered"] == 1
        assert [r["headers"]["Helpdesk-Event-Id"] for r in receiver.requests] == [event_id, event_id]
        assert receiver.verified == [True, True]

    admin.get_by_role("button", name="Delete endpoint").click()
    expect(admin.get_by_role("heading", name=f"Delete the endpoint {receiver.url}?")).to_be_visible()
    admin.get_by_role("button", name="Delete endpoint").click()
    expect(admin.get_by_role("status").filter(has_text=f"Endpoint {receiver.url} deleted.")).to_be_visible()
    with desk.app.app_context():
        assert db.session.scalar(db.select(db.func.count(WebhookEndpoint.id))) == 0
        db.session.remove()


@pytest.mark.browser_errors("status of 422")  # the refused form comes back with 422, as every refused form
def test_the_webhook_pages_pass_axe_in_both_schemes_and_fit_a_phone(browser, desk):
    from playwright.sync_api import expect

    from helpdesk.webhooks import endpoints

    from .test_every_page import AXE, RUN_AXE

    with desk.app.app_context():
        from helpdesk.accounts.models import User

        ada = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
        item, _ = endpoints.create_endpoint(
            ada, url="https://hooks.example.com/in", events=["ticket.created"]
        )
        db.session.commit()
        endpoint_id = item.id
        db.session.remove()
    found = []
    for scheme, viewport in (
        ("light", {"width": 1280, "height": 800}),
        ("dark", {"width": 390, "height": 844}),
    ):
        context = browser.new_context(color_scheme=scheme, viewport=viewport)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        log_in(page, desk.url, "admin@example.com")
        page.wait_for_url(lambda url: "/login" not in url)
        for path in ("/admin/webhooks/", "/admin/webhooks/new", f"/admin/webhooks/{endpoint_id}"):
            page.goto(desk.url + path)
            found += [f"{scheme} {path}: {v}" for v in page.evaluate(RUN_AXE)]
            wide = page.evaluate(WIDEST)
            assert not wide, f"{path} scrolls sideways at {viewport['width']} px: {wide}"
        page.goto(desk.url + "/admin/webhooks/new")
        page.get_by_label("URL").fill("ftp://hooks.example.com/in")
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.get_by_text("The URL must start with https:// or http://")).to_be_visible()
        found += [f"{scheme}, refused: {v}" for v in page.evaluate(RUN_AXE)]
        context.close()
    assert found == [], "\n".join(found)
