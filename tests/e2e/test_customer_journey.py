"""A new customer registers (and confirms the address), submits a ticket, finds it in My tickets, replies, and closes it."""

import re

from playwright.sync_api import expect

from tests.e2e.registration_support import register_and_confirm


def test_register_submit_reply_close(live_server, page):
    register_and_confirm(
        page,
        live_server.url,
        live_server.app,
        name="Erin Example",
        email="erin@example.com",
        password="a-long-password",
    )
    expect(page.get_by_role("heading", name="My tickets")).to_be_visible()

    page.get_by_role("link", name="New ticket").first.click()
    page.get_by_label("Category").select_option(label="IT")
    page.get_by_label("Subject").fill("Laptop will not boot <b>now</b>")
    page.get_by_label("Describe the problem").fill("It shows a **blinking** cursor.")
    page.get_by_role("button", name="Submit ticket").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^#\d+ Laptop will not boot <b>now</b>$"))
    expect(page.locator(".message-original strong", has_text="blinking")).to_be_visible()

    page.get_by_role("link", name="My tickets").click()
    ticket_link = page.get_by_role("link", name="Laptop will not boot <b>now</b>")
    expect(ticket_link).to_be_visible()
    ticket_link.click()

    page.get_by_label("Your reply").fill("Also, the fan is loud.")
    page.get_by_role("button", name="Send reply").click()
    # htmx swaps the conversation in place: the reply appears and the box is empty again.
    expect(page.locator("#conversation article", has_text="Also, the fan is loud.")).to_be_visible()
    expect(page.get_by_label("Your reply")).to_have_value("")

    page.get_by_role("button", name="Close ticket").click()
    expect(page.get_by_text("Closed", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Reopen ticket")).to_be_visible()
