"""Registering in the browser as a new customer does: fill the form, open the confirmation link from
the mail (read from the served app's outbox), confirm the address, then log in."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.mail.compose import compose
from helpdesk.mail.models import OutboxMessage


def confirmation_path(app, email):
    """The path of the newest confirmation link mailed to `email` by the served `app`."""
    with app.app_context():
        row = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_addr == email, OutboxMessage.kind == "address_confirmation")
            .order_by(OutboxMessage.id.desc())
        ).first()
        body = compose(row).body_text  # as the mail worker writes it (the served app only stores it)
        db.session.remove()
    return re.search(r"https?://[^/\s]+(/register/confirm/\S+)", body).group(1)


def register_and_confirm(page, base, app, *, name, email, password, plan=None):
    """Register, confirm the address through the mailed link, and log in: the customer lands in the portal."""
    page.goto(f"{base}/register")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    if plan:
        page.get_by_label(plan).check()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    page.goto(base + confirmation_path(app, email))
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("Your address is confirmed")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
