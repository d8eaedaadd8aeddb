"""The queue refreshes its rows by itself (static/live.js; every 30 s, here every second): an
unchanged queue answers 304 and the page stays as it is; a new ticket appears without a reload;
while a row is ticked nothing is replaced, so the selection is never lost."""

import pytest

from helpdesk.extensions import db

from .test_keyboard_journey import log_in
from .test_presence_journey import desk  # noqa: F401  (the seeded demo desk)

pytestmark = pytest.mark.e2e

QUEUE = "/agent/?status=all&sort=updated"


def new_ticket(server, subject):
    from sqlalchemy import select

    from helpdesk.accounts.models import User
    from helpdesk.tickets import lifecycle
    from helpdesk.tickets.models import Category, Priority

    with server.app.app_context():
        alice = db.session.scalar(select(User).where(User.email == "alice@example.com"))
        it = db.session.scalar(select(Category).where(Category.name == "IT"))
        normal = db.session.scalar(select(Priority).where(Priority.name == "Normal"))
        lifecycle.create_ticket(
            alice, subject=subject, body="It smokes.", category_id=it.id, priority_id=normal.id
        )
        db.session.commit()
        db.session.remove()


def test_the_queue_shows_new_tickets_by_itself_unless_rows_are_selected(browser, desk):  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context()
    context.add_init_script("window.helpdeskQueueRefreshMs = 1000;")
    page = context.new_page()
    polls = []
    page.on(
        "response",
        lambda r: (
            polls.append(r.status) if "/agent/" in r.url and r.request.headers.get("hx-request") else None
        ),
    )
    log_in(page, desk.url, "it.tech@example.com")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.goto(desk.url + QUEUE)
    page.wait_for_function("() => window.htmx !== undefined")
    page.wait_for_function("() => document.activeElement === document.body")
    for _ in range(30):  # unchanged: answered 304, and the page stays as it is
        if 304 in polls:
            break
        page.wait_for_timeout(500)
    assert 304 in polls, polls
    expect(page.get_by_role("link", name="VPN drops every 10 minutes")).to_be_visible()

    new_ticket(desk, "Printer on fire")
    expect(page.get_by_role("link", name="Printer on fire")).to_be_visible(timeout=15_000)

    box = page.get_by_role("checkbox").first
    box.check()
    new_ticket(desk, "Coffee machine leaks")
    page.wait_for_timeout(3000)  # three rounds of the refresh, all skipped
    expect(page.get_by_role("link", name="Coffee machine leaks")).to_have_count(0)
    expect(box).to_be_checked()

    box.uncheck()
    page.get_by_role("heading", name="Queue").click()  # the focus leaves the table
    expect(page.get_by_role("link", name="Coffee machine leaks")).to_be_visible(timeout=15_000)
    context.close()
