"""An admin names the desk and picks its accent in the browser: the header, the title and the
design tokens follow at once, in the light and the dark colour scheme."""

import re

import pytest
from playwright.sync_api import expect

from helpdesk.extensions import db
from tests import factories
from tests.factories import PASSWORD


@pytest.fixture
def helpdesk(live_server):
    with live_server.app.app_context():
        factories.admin(email="ada@example.com", name="Ada Admin")
        db.session.commit()
    return live_server


def log_in(page, server, email):
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def accent(page):
    return page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")


@pytest.mark.browser_errors("status of 422")  # the refused colour: the form comes back with 422
def test_admin_names_the_desk_and_sees_it_in_the_header(helpdesk, page, browser):
    log_in(page, helpdesk, "ada@example.com")
    page.goto(helpdesk.url + "/admin/")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Branding").click()
    expect(page.get_by_role("heading", name="Branding", level=1)).to_be_visible()

    page.get_by_label("Accent colour", exact=True).fill("#ffd700")
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_text("has a contrast of 1.40:1 with white text")).to_be_visible()
    # the refusal is a whole new page: its picker writes into the field once app.js (deferred)
    # has run, which the text can precede on a loaded machine (seen with three test workers)
    page.wait_for_load_state("load")
    page.get_by_label("Pick the accent colour").fill("#7a1f5c")  # the picker writes into the text field
    expect(page.get_by_label("Accent colour", exact=True)).to_have_value("#7a1f5c")
    page.get_by_label("Desk name").fill("Acme Support")
    page.get_by_label("Accent colour", exact=True).fill("#0b5cad")
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_text("Branding saved.")).to_be_visible()
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="Acme Support")).to_be_visible()
    expect(page).to_have_title(re.compile(r"· Acme Support$"))
    # the page's text can be read before its new /branding.css has loaded: wait for the style
    page.wait_for_function(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() === '#0b5cad'"
    )

    dark = browser.new_context(color_scheme="dark")
    other = dark.new_page()
    log_in(other, helpdesk, "ada@example.com")
    other.goto(helpdesk.url + "/admin/")
    expect(other.get_by_role("banner").get_by_role("link", name="Acme Support")).to_be_visible()
    assert accent(other) not in ("#0b5cad", "#8ab4ff")  # the brand's colour, lightened for dark backgrounds
    dark.close()


@pytest.mark.browser_errors("status of 422")
def test_the_branding_page_passes_axe_with_an_error_shown_in_both_schemes(helpdesk, browser):
    from .test_every_page import AXE, RUN_AXE

    def _axe(page):
        return page.evaluate(RUN_AXE)

    found = []
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        log_in(page, helpdesk, "ada@example.com")
        page.goto(helpdesk.url + "/admin/branding")
        found += [f"{scheme}: {v}" for v in _axe(page)]
        page.get_by_label("Accent colour", exact=True).fill("not a colour")
        page.get_by_role("button", name="Save branding").click()
        expect(page.get_by_text("Accent colour: enter a colour as #rrggbb")).to_be_visible()
        page.wait_for_load_state("load")  # the refusal is a new page: axe reads it once styled
        found += [f"{scheme}, refused: {v}" for v in _axe(page)]
        context.close()
    assert found == [], "\n".join(found)
