"""An agent signed out on another device (logging out ends every session) keeps working in a tab
that still shows the queue: the next filter change says they are signed out, and the login page is
never swapped into the queue's table (htmx requests answer 401 instead of a redirect)."""

import pytest

from .test_keyboard_journey import desk, log_in  # noqa: F401  (desk: the demo desk's live server)

pytestmark = pytest.mark.e2e


@pytest.mark.browser_errors("status of 401", "Error Code 401")  # the refused request, logged by the browser
def test_signed_out_elsewhere_the_queue_says_so_and_keeps_its_table(browser, desk):  # noqa: F811  (the fixture)
    from playwright.sync_api import expect

    tab = browser.new_context().new_page()
    log_in(tab, desk.url, "it.tech@example.com")
    expect(tab.get_by_role("heading", name="Queue")).to_be_visible()
    table = tab.get_by_role("table")
    expect(table).to_be_visible()
    tab.wait_for_function("() => window.htmx !== undefined")

    other_device = browser.new_context().new_page()
    log_in(other_device, desk.url, "it.tech@example.com")
    other_device.get_by_text("Ivan IT (technician)").click()  # the profile menu
    other_device.get_by_role("button", name="Log out").click()
    expect(other_device.get_by_label("Password")).to_be_visible()

    with tab.expect_response(lambda r: "/agent/" in r.url and "status=waiting" in r.url) as answer:
        tab.get_by_label("Status", exact=True).select_option("waiting")
    assert answer.value.status == 401
    expect(tab.get_by_role("alert")).to_contain_text("You are signed out")
    expect(tab.get_by_label("Password")).to_have_count(0)  # no login form inside the page
    expect(table).to_be_visible()  # the table the agent had stays

    tab.reload()  # as the message says: the login page
    expect(tab.get_by_label("Password")).to_be_visible()
