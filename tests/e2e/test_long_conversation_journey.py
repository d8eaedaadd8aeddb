"""A technician opens a ticket that collected many messages: the latest are shown under the
original message, "Show the N earlier messages" brings the rest, and a reply sent from the whole
conversation keeps it whole. Headless Chromium against a live server, real CSRF."""

import pytest
from playwright.sync_api import expect

from helpdesk.extensions import db

pytestmark = pytest.mark.e2e

PASSWORD = "helpdesk-demo"


@pytest.fixture
def long_ticket(live_server_factory):
    """The demo desk, with a Printer ticket of Alice's holding eight replies (the page shows 3)."""
    from sqlalchemy import select

    from helpdesk.accounts.models import User
    from helpdesk.demo.seed import seed_demo
    from helpdesk.tickets import lifecycle
    from helpdesk.tickets.models import Category, Message, Priority

    server = live_server_factory(WTF_CSRF_ENABLED=True, THREAD_RECENT_MESSAGES=3)
    with server.app.app_context():
        seed_demo()
        alice = db.session.scalar(select(User).where(User.email == "alice@example.com"))
        ticket, _ = lifecycle.open_new_ticket(
            alice,
            subject="Printer keeps jamming",
            body="Tray 2 jams on every job.",
            category_id=db.session.scalar(select(Category.id).where(Category.name == "IT")),
            priority_id=db.session.scalar(select(Priority.id).where(Priority.name == "Normal")),
            submission_key="e2e-long",
        )
        for n in range(1, 9):
            db.session.add(Message(ticket_id=ticket.id, author_id=alice.id, body=f"Jam report number {n}."))
        db.session.commit()
        return server.url, ticket.id


def test_an_agent_opens_the_earlier_messages_and_replies_in_the_whole_conversation(long_ticket, page):
    # the server first: torn down after the page, so no request of the page meets a stopped server
    base, ticket_id = long_ticket
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill("it.tech@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/agent/tickets/{ticket_id}")
    conversation = page.get_by_role("region", name="Conversation")
    expect(conversation.get_by_text("Tray 2 jams on every job.")).to_be_visible()  # the original message
    expect(conversation.get_by_text("Jam report number 8.")).to_be_visible()
    expect(conversation.get_by_text("Jam report number 5.")).to_have_count(0)
    earlier = conversation.get_by_role("link", name="Show the 5 earlier messages")
    earlier.focus()
    page.keyboard.press("Enter")
    expect(conversation.get_by_text("Jam report number 1.")).to_be_visible()
    expect(page).to_have_url(f"{base}/agent/tickets/{ticket_id}?thread=all#conversation")
    page.get_by_label("Message", exact=True).fill("A new tray is on its way.")
    page.get_by_role("button", name="Send reply", exact=True).click()
    expect(conversation.get_by_text("A new tray is on its way.")).to_be_visible()
    expect(conversation.get_by_text("Jam report number 1.")).to_be_visible()  # still whole
    expect(conversation.get_by_role("link", name="Show the 5 earlier messages")).to_have_count(0)
