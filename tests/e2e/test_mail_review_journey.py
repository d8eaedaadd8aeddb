"""An admin finds a reply held because its sender failed DMARC, accepts it as the customer, and the
reply is on the ticket once. Headless Chromium against a live server, with real CSRF."""

import pytest
from playwright.sync_api import expect

from helpdesk.credits import submission
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail.tokens import reply_address, thread_root_id
from helpdesk.tickets.models import Category, Message, Priority
from tests import factories
from tests.factories import PASSWORD
from tests.mail_support import TRUSTED_MTA, load_eml, with_auth_results

pytestmark = pytest.mark.e2e


@pytest.fixture
def held(live_server_factory):
    """Alice's ticket, and her reply by mail held as unverified (the MTA said dmarc=fail)."""
    server = live_server_factory(WTF_CSRF_ENABLED=True, MAIL_TRUSTED_AUTHSERV_ID=TRUSTED_MTA)
    with server.app.app_context():
        factories.admin(email="ada@example.test", name="Ada Admin")
        alice = factories.customer(email="alice@example.test", name="Alice Archer")
        ticket, _ = submission.submit_ticket(
            alice,
            subject="Printer on fire",
            body="Smoke everywhere.",
            category_id=db.session.scalar(db.select(Category.id).where(Category.name == "IT")),
            priority_id=db.session.scalar(db.select(Priority.id).where(Priority.name == "Normal")),
        )
        db.session.commit()
        raw = load_eml(
            "reply_plain.eml",
            ID=ticket.id,
            TOKEN=reply_address(ticket.id, alice.id),
            ROOT=thread_root_id(ticket.id),
        )
        entry = mail_inbound.ingest(with_auth_results(raw, "dmarc=fail (p=quarantine)"))
        assert entry.outcome == "unverified"
        server.ticket_id = ticket.id
    return server


def replies(server):
    with server.app.app_context():
        return db.session.scalar(
            db.select(db.func.count(Message.id)).where(Message.ticket_id == server.ticket_id)
        )


def test_admin_accepts_a_held_reply_as_its_sender(held, page):
    page.goto(held.url + "/login")
    page.get_by_label("E-mail").fill("ada@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(held.url + "/admin/mail/inbound")
    page.get_by_role("link", name="Unverified").click()
    expect(page.get_by_text("1 message held for review")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Re: [#")
    expect(row.get_by_text("DMARC failed")).to_be_visible()
    # The page's scripts have run (htmx answers the button with the row): a click before them is
    # a plain form post, whose redirect back to "Unverified" no longer lists the accepted message.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")

    row.get_by_role("button", name="Accept as alice@example.test").click()
    expect(page.get_by_role("status").filter(has_text="Posted as alice@example.test")).to_be_visible()
    expect(page.get_by_role("button", name="Accept as alice@example.test")).to_have_count(0)
    assert replies(held) == 1

    page.get_by_role("link", name=f"#{held.ticket_id}", exact=True).click()
    expect(page.get_by_text("Thanks, turning it off and on worked.")).to_be_visible()
    assert replies(held) == 1
