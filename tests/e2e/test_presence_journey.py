"""Two agents on one ticket, in two browsers: each sees the other on the page, one sees the other
writing, and a note sent by one is announced to the other, who shows it without losing the reply
they are typing (which, saved on the server, also survives a reload)."""

import re

import pytest

from helpdesk.extensions import db

from .test_keyboard_journey import log_in

pytestmark = pytest.mark.e2e

SUBJECT = "VPN drops every 10 minutes"
HEARTBEAT_SECONDS = 1  # the server's setting here (10 s by default): the journey waits for heartbeats
HEARTBEAT_WAIT = 15_000  # several heartbeats, on a shared machine


@pytest.fixture
def desk(live_server_factory):
    from helpdesk.demo.seed import seed_demo

    server = live_server_factory(WTF_CSRF_ENABLED=True, PRESENCE_HEARTBEAT_SECONDS=HEARTBEAT_SECONDS)
    with server.app.app_context():
        seed_demo()
        db.session.commit()
    return server


def open_ticket(browser, desk, email):
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    log_in(page, desk.url, email)
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.get_by_role("link", name=SUBJECT).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(SUBJECT)
    page.wait_for_function("() => window.htmx !== undefined")
    return page


def test_two_agents_see_each_other_and_one_writing(browser, desk):
    from playwright.sync_api import expect

    ivan = open_ticket(browser, desk, "it.tech@example.com")
    counted = []  # the sidebar's view counts, asked again after an agent's action (app.js)
    ivan.on("request", lambda r: counted.append(r.url) if "/agent/views" in r.url else None)
    ada = open_ticket(browser, desk, "admin@example.com")
    ivan_sees = ivan.get_by_role("group", name="Other agents on this ticket")
    ada_sees = ada.get_by_role("group", name="Other agents on this ticket")

    expect(ada_sees).to_contain_text("Ivan IT is viewing", timeout=HEARTBEAT_WAIT)
    expect(ivan_sees).to_contain_text("Ada Admin is viewing", timeout=HEARTBEAT_WAIT)

    ada.get_by_label("Message", exact=True).press_sequentially("Checking the firewall logs")
    expect(ivan_sees).to_contain_text("Ada Admin is writing a reply", timeout=HEARTBEAT_WAIT)

    # Ivan writes too; Ada's note is announced to him, and showing it keeps his words.
    ivan_box = ivan.get_by_label("Message", exact=True)
    ivan_box.press_sequentially("Half of my answer")
    ada.get_by_label("Message", exact=True).fill("")  # her reply waits: she notes a finding first
    ada.get_by_label("Internal note", exact=True).fill("The firewall dropped the tunnel at 10:02.")
    ada.get_by_role("button", name="Add internal note").click()
    expect(ada.get_by_role("status").filter(has_text="Internal note added.")).to_be_visible()

    notice = ivan.get_by_role("status").filter(has_text="Ada Admin added an internal note")
    expect(notice).to_be_visible(timeout=HEARTBEAT_WAIT)
    notice.get_by_role("link", name=re.compile(r"^Show")).click()
    conversation = ivan.get_by_role("region", name="Conversation")
    expect(conversation).to_contain_text("The firewall dropped the tunnel at 10:02.")
    expect(notice).to_have_count(0)
    expect(ivan_box).to_have_value("Half of my answer")

    assert len(counted) <= 1, counted  # heartbeats and autosaves are not actions: no recount

    # The draft lives on the server: a reload gives it back.
    expect(ivan.locator("#draft-status")).to_have_text("Draft saved.")
    ivan.reload()
    expect(ivan.get_by_label("Message", exact=True)).to_have_value("Half of my answer")


@pytest.mark.browser_errors(
    "status of 400", "Error Code 400", "status of 401", "Error Code 401"
)  # the refused heartbeat
def test_a_signed_out_agents_heartbeat_changes_nothing_on_the_page(browser, desk):
    from playwright.sync_api import expect

    ivan = open_ticket(browser, desk, "it.tech@example.com")
    expect(ivan.get_by_role("group", name="Other agents on this ticket")).to_contain_text("No other agent")
    other_tab = ivan.context.new_page()
    other_tab.goto(desk.url + "/agent/")
    other_tab.get_by_text("Ivan IT (technician)").click()  # the profile menu
    other_tab.get_by_role("button", name="Log out").click()
    expect(other_tab.get_by_label("Password")).to_be_visible()
    with ivan.expect_response(lambda r: "/presence" in r.url, timeout=HEARTBEAT_WAIT) as refused:
        pass  # the next heartbeat
    # 400: the form's token left with the session; 401: a heartbeat that set out with the old
    # cookie while the logout was under way found the session ended (htmx is never redirected)
    assert refused.value.status in (400, 401)
    ivan.wait_for_timeout(300)
    expect(ivan.get_by_label("Password")).to_have_count(0)
    expect(ivan.get_by_role("group", name="Other agents on this ticket")).to_contain_text("No other agent")
    expect(ivan.get_by_role("alert")).to_have_count(0)  # a background request: no error banner every 10 s
    # Typing now: the autosave is refused too, and the box says so instead of pretending.
    ivan.get_by_label("Message", exact=True).press_sequentially("Still here")
    expect(ivan.locator("#draft-status")).to_contain_text("Draft not saved")
    expect(ivan.get_by_label("Message", exact=True)).to_have_value("Still here")
