"""An admin ticks a permission box (saved at once by htmx) and promotes a user past the seat limit."""

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import AuditEvent, CategoryPermission, User
from helpdesk.extensions import db
from helpdesk.tickets.models import Category
from tests import factories
from tests.factories import PASSWORD


@pytest.fixture
def helpdesk(live_server):
    """An admin, three IT technicians (4 of 4 seats used) and a customer on the live server."""
    with live_server.app.app_context():
        it = db.session.scalar(db.select(Category).where(Category.name == "IT"))
        factories.admin(email="ada@example.test", name="Ada Admin")
        for n in range(3):
            factories.technician(it, email=f"tech{n}@example.test", name=f"Tech {n}")
        factories.customer(email="carl@example.test", name="Carl Customer")
        db.session.commit()  # factories only flush; the live server reads through its own connections
    return live_server


def log_in(page, server, email):
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def query(server, fn):
    with server.app.app_context():
        return fn()


def test_permission_cell_saves_at_once(helpdesk, page):
    log_in(page, helpdesk, "ada@example.test")
    page.goto(helpdesk.url + "/admin/permissions")
    first_seen = page.locator("#permissions-seen").get_attribute("value")
    box = page.get_by_label("Tech 0 may work Sales tickets")
    box.check()
    expect(page.get_by_text("Granted ✓")).to_be_visible()
    expect(page.get_by_label("Tech 0 may work Sales tickets")).to_be_checked()
    # the box's answer replaced its cell: the grid is not left busy, its button usable
    expect(page.get_by_role("button", name="Save permissions")).to_be_enabled()
    expect(page.locator("#permission-grid form")).not_to_have_attribute("aria-busy", "true")

    def sales_grants():
        sales = db.session.scalar(db.select(Category.id).where(Category.name == "Sales"))
        return db.session.scalar(
            db.select(db.func.count(CategoryPermission.id)).where(CategoryPermission.category_id == sales)
        )

    assert query(helpdesk, sales_grants) == 1
    page.get_by_label("Tech 0 may work Sales tickets").uncheck()
    expect(page.get_by_text("Revoked ✓")).to_be_visible()
    assert query(helpdesk, sales_grants) == 0
    # each tick brought the grid's version along (out of band): its own ticks do not make the
    # page's grid stale
    seen = page.locator("#permissions-seen").get_attribute("value")
    assert int(seen) > int(first_seen or 0)
    assert int(seen) == query(helpdesk, lambda: db.session.scalar(db.select(db.func.max(AuditEvent.id))))


def test_promotion_past_the_limit_asks_first(helpdesk, page):
    log_in(page, helpdesk, "ada@example.test")
    page.goto(helpdesk.url + "/admin/users?q=carl")
    page.get_by_role("link", name="Carl Customer").click()
    expect(page.get_by_text("4 used / 4")).to_be_visible()
    page.get_by_label("Role").select_option("technician")
    page.get_by_role("button", name="Change role").click()
    expect(page.get_by_text("This makes 5 agents on a plan for 4 seats.")).to_be_visible()
    role = lambda: db.session.scalar(db.select(User.role).where(User.email == "carl@example.test"))  # noqa: E731
    assert query(helpdesk, role) == "customer"
    page.get_by_role("button", name="Confirm: make Carl Customer technician").click()
    expect(page.get_by_text("Saved: Carl Customer is now technician.")).to_be_visible()
    expect(page.get_by_text("5 used / 4")).to_be_visible()
    assert query(helpdesk, role) == "technician"
