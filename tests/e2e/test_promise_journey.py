"""The promise in the browser, on a fixed clock: a Saturday Urgent ticket is due on Monday, and the
technician sees it first in "Needs attention", amber once it is at risk."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from werkzeug.security import generate_password_hash

from helpdesk.accounts.models import CategoryPermission, User
from helpdesk.demo.seed import DEMO_PASSWORD
from helpdesk.extensions import db
from helpdesk.tickets import calendars
from helpdesk.tickets.models import Category
from tests.credit_helpers import bank
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # Sat 10:00 in London
MONDAY_AT_RISK = datetime(2026, 12, 7, 8, 50, tzinfo=UTC)  # 50 of the 60 open minutes used


@pytest.fixture
def desk(live_server_factory):
    server = live_server_factory(WTF_CSRF_ENABLED=True)
    with server.app.app_context():
        office = {weekday: "08:00-18:00" for weekday in range(5)}
        calendars.save_calendar(
            None, None, timezone="Europe/London", always_open=False, days=office, closures="", country="GB",
            subdivision="",
        )  # fmt: skip
        password = generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000")
        customer = UserFactory(
            email="alice@example.com", name="Alice Archer", timezone="Europe/London", password_hash=password
        )
        tech = UserFactory(
            email="sally@example.com", name="Sally Sales", role="technician", password_hash=password
        )
        sales = db.session.scalar(db.select(Category.id).where(Category.name == "Sales"))
        db.session.add(CategoryPermission(user_id=tech.id, category_id=sales))
        db.session.commit()
        bank("Business", 1000, user=db.session.get(User, customer.id))
    return server.url


def _log_in(browser, base, email):
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_a_saturday_urgent_ticket_is_due_monday_and_tops_the_queue_when_at_risk(browser, desk):
    from playwright.sync_api import expect

    with time_machine.travel(SATURDAY, tick=True):
        customer = _log_in(browser, desk, "alice@example.com")
        customer.goto(f"{desk}/portal/tickets/new")
        customer.get_by_label("Category").select_option(label="Sales")
        customer.get_by_label(re.compile(r"^Urgent — response within 1 h of business hours")).check()
        quote = customer.locator("#priority-quote")
        expect(quote).to_contain_text("Urgent: 250 credits")
        expect(quote).to_contain_text("response by Mon 07 Dec 09:00")
        customer.get_by_label("Subject").fill("Invoice run is stuck")
        customer.get_by_label("Describe the problem").fill("Nothing went out this morning.")
        customer.get_by_role("button", name="Submit ticket").click()
        expect(customer.get_by_role("heading", level=1)).to_contain_text("Invoice run is stuck")
        expect(customer.get_by_text("Response by")).to_be_visible()
        expect(customer.locator(".ticket-meta")).to_contain_text(
            "Mon 7 Dec 2026, 09:00 GMT"
        )  # the exact time beside "in 2 days"
    with time_machine.travel(MONDAY_AT_RISK, tick=True):
        agent = _log_in(browser, desk, "sally@example.com")
        expect(agent.get_by_label("Sort by")).to_have_value("attention")
        first = agent.get_by_role("row").nth(1)  # row 0 holds the column headers
        expect(first).to_contain_text("Invoice run is stuck")
        expect(first).to_contain_text("at risk")
        expect(first).to_have_class(re.compile(r"clock-row-at_risk"))
