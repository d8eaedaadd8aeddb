"""Answers before tickets (issue 15): a customer typing "VPN drops" on the new-ticket form sees the
demo article beside the subject, opens it, marks it helpful and leaves without submitting; the
knowledge-base report shows the form as pending, and once the deflection window has passed, as
one deflection."""

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.dbtypes import utcnow
from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db
from tests.conftest import SERVER_POLL, make_test_config
from tests.e2e.conftest import read_whole

pytestmark = pytest.mark.e2e
ARTICLE = "VPN drops every few minutes"


@pytest.fixture
def demo_desk(tmp_path):
    """The seeded demo desk (its knowledge base included), CSRF on, served from a thread."""
    config = make_test_config(
        "sqlite:///" + str(tmp_path / "kb.sqlite3"), str(tmp_path), WTF_CSRF_ENABLED=True
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


def deflection_cells(page, base):
    page.goto(f"{base}/agent/reports/kb")
    table = page.get_by_role("table", name=re.compile("^Deflections"))
    return table.get_by_role("row", name=re.compile(r"^IT\b")).get_by_role("cell")


def test_a_customer_finds_the_answer_beside_the_form_and_leaves(demo_desk, browser):
    _app, base = demo_desk
    started = utcnow()
    customer = browser.new_context()
    page = customer.new_page()
    log_in(page, base, "john@example.com")
    page.get_by_role("link", name="New ticket").first.click()
    # The suggestions come by htmx (deferred): a subject typed before it loaded asks for nothing.
    page.wait_for_load_state("load")
    page.get_by_label("Category").select_option(label="IT")
    page.get_by_label("Subject").fill("VPN drops")

    answers = page.get_by_role("complementary", name="Answers from the knowledge base")
    suggestion = answers.get_by_role("link", name=re.compile(ARTICLE))
    expect(suggestion).to_be_visible()
    # A screen reader hears that answers appeared (the layout's status region), not the whole list.
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^\d articles? may answer your question$"))
    with customer.expect_page() as opened:
        suggestion.click()
    article = opened.value
    expect(article.get_by_role("heading", level=1)).to_have_text(ARTICLE)
    expect(article).to_have_title(f"{ARTICLE} · IT · Knowledge base · Help desk")
    helpful = article.get_by_role("group", name="Was this helpful?")
    helpful.get_by_role("button", name="Yes").click()
    expect(article.get_by_text("Thank you: you found this helpful.")).to_be_visible()
    expect(helpful.get_by_role("button", name="Yes")).to_have_attribute("aria-pressed", "true")
    customer.close()  # leaves without submitting the ticket

    agent = browser.new_context()
    report = agent.new_page()
    log_in(report, base, "admin@example.com")
    cells = deflection_cells(report, base)
    expect(cells.nth(0)).to_have_text("1")  # one form with a suggestion opened
    expect(cells.nth(3)).to_have_text("1")  # pending: the window is still open
    with time_machine.travel(started + timedelta(minutes=61), tick=True):
        cells = deflection_cells(report, base)
        expect(cells.nth(1)).to_have_text("1")  # deflected
        expect(cells.nth(2)).to_have_text("0")  # no ticket submitted
        expect(cells.nth(3)).to_have_text("0")
        top = report.get_by_role("table", name="Top articles").get_by_role("row", name=re.compile(ARTICLE))
        expect(top.get_by_role("cell").nth(5)).to_have_text("1")  # its deflection
    agent.close()
