"""A technician inserts a saved reply with the keyboard: search beside the reply box, Tab to the
match, Enter puts the text (placeholders filled) at the cursor, and the use is counted."""

import re

import pytest

from helpdesk.extensions import db

from .test_keyboard_journey import log_in, tab_to, type_into

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk(live_server_factory):
    from helpdesk.demo.seed import seed_demo

    server = live_server_factory(WTF_CSRF_ENABLED=True)
    with server.app.app_context():
        seed_demo()
        db.session.commit()
    return server


def test_a_saved_reply_is_inserted_at_the_cursor_by_keyboard(browser, desk):
    from playwright.sync_api import expect

    from helpdesk.replies.models import SavedReply

    agent = browser.new_context().new_page()
    log_in(agent, desk.url, "it.tech@example.com")
    expect(agent.get_by_role("heading", name="Queue")).to_be_visible()
    agent.wait_for_load_state("load")
    tab_to(agent, agent.get_by_role("link", name="VPN drops every 10 minutes"))
    agent.keyboard.press("Enter")
    expect(agent.get_by_role("heading", level=1)).to_contain_text("VPN drops every 10 minutes")
    agent.wait_for_load_state("load")
    agent.wait_for_function("() => window.htmx !== undefined")

    box = agent.get_by_label("Message", exact=True)
    type_into(agent, box, "Sorry for the trouble.")
    type_into(agent, agent.get_by_label("Search saved replies"), "vpn")
    insert = agent.get_by_role("button", name="Insert VPN: reinstall the profile")
    expect(insert).to_be_visible()
    tab_to(agent, insert)
    agent.keyboard.press("Enter")

    expect(box).to_be_focused()
    expect(box).to_have_value(
        re.compile(r"^Sorry for the trouble\.\n\nHi Alice,\n\nPlease remove the VPN profile")
    )
    expect(box).to_have_value(re.compile(r"Ivan IT$"))
    expect(agent.get_by_role("status").filter(has_text="Inserted into the reply.")).to_be_attached()

    def uses():
        with desk.app.app_context():
            return db.session.scalar(
                db.select(SavedReply.use_count).where(SavedReply.title == "VPN: reinstall the profile")
            )

    for _ in range(50):
        if uses() == 1:
            break
        agent.wait_for_timeout(100)
    assert uses() == 1
