"""Keyboard only: a customer submits a ticket and an agent answers it, reaching every control with
Tab and working it with the keys (no clicks, no fills)."""

import re

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk(live_server_factory):
    server = live_server_factory(WTF_CSRF_ENABLED=True)
    with server.app.app_context():
        seed_demo()
        db.session.commit()
    return server


def tab_to(page, locator, limit=120):
    """Press Tab until `locator` has focus: it is reachable by keyboard, in a sensible number of steps."""
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{locator} is not reachable with Tab")


def type_into(page, locator, text):
    tab_to(page, locator)
    page.keyboard.type(text)


def log_in(page, url, email):
    page.goto(url + "/login")
    type_into(page, page.get_by_label("E-mail"), email)
    type_into(page, page.get_by_label("Password"), DEMO_PASSWORD)
    page.keyboard.press("Enter")


def test_a_customer_submits_and_an_agent_answers_by_keyboard(browser, desk):
    from playwright.sync_api import expect

    customer = browser.new_context().new_page()
    log_in(customer, desk.url, "alice@example.com")
    expect(customer.get_by_role("heading", name="My tickets")).to_be_visible()
    tab_to(customer, customer.get_by_role("link", name="New ticket").first)
    customer.keyboard.press("Enter")
    expect(customer.get_by_role("heading", name="New ticket")).to_be_visible()
    category = customer.get_by_label("Category")
    tab_to(customer, category)
    customer.keyboard.type("IT")  # type-ahead picks the option
    expect(category.locator("option:checked")).to_have_text("IT")
    type_into(customer, customer.get_by_label("Subject"), "Keyboard only: printer jams")
    type_into(customer, customer.get_by_label("Describe the problem"), "Every second page jams.")
    tab_to(customer, customer.get_by_role("button", name="Submit ticket"))
    customer.keyboard.press("Enter")
    heading = customer.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^#\d+ Keyboard only: printer jams$"))
    number = re.match(r"#(\d+)", heading.inner_text()).group(1)

    agent = browser.new_context().new_page()
    log_in(agent, desk.url, "it.tech@example.com")
    expect(agent.get_by_role("heading", name="Queue")).to_be_visible()
    tab_to(agent, agent.get_by_role("link", name="Keyboard only: printer jams"))
    agent.keyboard.press("Enter")
    expect(agent.get_by_role("heading", level=1)).to_have_text(f"#{number} Keyboard only: printer jams")
    type_into(agent, agent.get_by_label("Message", exact=True), "Please clean the rollers.")
    tab_to(agent, agent.get_by_role("button", name="Send reply"))
    agent.keyboard.press("Enter")
    notice = agent.get_by_role("status").filter(has_text="Reply sent.")
    expect(notice).to_be_focused()  # focus follows the answer, next to the composer

    status = agent.get_by_label("Status", exact=True)
    tab_to(agent, status, limit=200)
    agent.keyboard.press("ArrowDown")  # Open (the reply opened it) -> Waiting: only previewed
    agent.keyboard.press("Enter")  # saved on purpose
    expect(agent.get_by_role("status").filter(has_text="Status saved: Waiting on customer.")).to_be_visible()

    customer.reload()
    expect(customer.locator("#conversation")).to_contain_text("Please clean the rollers.")
    customer.context.close()
    agent.context.close()


def test_a_late_answer_never_takes_the_keys_from_the_field_being_typed_in(browser, desk):
    """A customer picks a category (its price quote is fetched) and goes on to type the subject; on
    a slow connection the quote arrived mid-word and moved the focus to it, and the rest of the
    subject went nowhere (seen as "Keyboa" on a loaded test machine). The keys stay where the user
    is; the quote still shows."""
    import time

    from flask import request
    from playwright.sync_api import expect

    @desk.app.before_request
    def slow_quotes():  # the quote answers after a second, as on a slow connection
        if request.path.endswith("/tickets/new/quote"):
            time.sleep(1.0)

    customer = browser.new_context().new_page()
    log_in(customer, desk.url, "alice@example.com")
    expect(customer.get_by_role("heading", name="My tickets")).to_be_visible()
    customer.goto(desk.url + "/portal/tickets/new")
    customer.wait_for_load_state("load")
    customer.wait_for_function("() => window.htmx !== undefined")
    category = customer.get_by_label("Category")
    tab_to(customer, category)
    customer.keyboard.type("Sales")  # type-ahead: a change, so the quote is asked for
    subject = customer.get_by_label("Subject")
    tab_to(customer, subject)
    with customer.expect_response(re.compile(r"/tickets/new/quote")):
        customer.keyboard.type("Invoice 41 ", delay=50)
    customer.keyboard.type("is wrong", delay=50)  # typed as the late answer is swapped in
    customer.wait_for_timeout(300)  # the swap's focus handling runs after it
    customer.keyboard.type(" twice")
    expect(subject).to_have_value("Invoice 41 is wrong twice")
    expect(subject).to_be_focused()
