"""Browser journey: a customer makes an API token from their profile, uses it, and revokes it."""

import json
import re
import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db
from tests.conftest import SERVER_POLL, make_test_config
from tests.e2e.conftest import read_whole

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """(Overrides the conftest fixture.) The seeded demo desk, with CSRF on, served in a thread."""
    folder = tmp_path_factory.mktemp("api-e2e")
    app = create_app(
        make_test_config("sqlite:///" + str(folder / "e2e.sqlite3"), str(folder), WTF_CSRF_ENABLED=True)
    )
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, read_whole(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SERVER_POLL}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


def api_status(base, token):
    request = urllib.request.Request(f"{base}/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            json.load(answer)
            return answer.status
    except urllib.error.HTTPError as exc:
        assert exc.headers["Content-Type"] == "application/problem+json"
        return exc.code


def test_a_token_is_made_used_and_revoked(live_server, page):
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()

    page.get_by_label("Token name").fill("Monitoring")
    scope = page.get_by_label("Tickets and messages: read")
    # The scopes are a grid: a row per domain, its boxes under Read and Write, on the row's line.
    grid = page.get_by_role("group", name="Scopes").get_by_role("table")
    row = grid.get_by_role("row", name=re.compile(r"^Tickets and messages"))
    box, heading = scope.bounding_box(), grid.get_by_role("columnheader", name="Read").bounding_box()
    name = row.get_by_role("rowheader").bounding_box()
    assert box["width"] < 40 and abs((box["y"] + box["height"] / 2) - (name["y"] + name["height"] / 2)) < 8
    assert abs((box["x"] + box["width"] / 2) - (heading["x"] + heading["width"] / 2)) < 8
    expect(page.get_by_label("People (admins: users, organizations, permissions): read")).to_have_count(0)
    scope.check()
    page.get_by_label("Expires after").select_option(label="30 days")
    page.get_by_role("button", name="Make token").click()
    secret = page.get_by_role("textbox", name="New token").input_value()
    assert secret.startswith("hd_")
    expect(page.get_by_role("cell", name="Monitoring", exact=True)).to_be_visible()
    assert api_status(live_server, secret) == 200

    page.get_by_role("button", name="Revoke Monitoring").click()
    expect(page.get_by_text("Token revoked: it no longer works.")).to_be_visible()
    expect(page.get_by_role("cell", name="Revoked", exact=True)).to_be_visible()
    assert page.get_by_role("textbox", name="New token").count() == 0  # shown once only
    assert api_status(live_server, secret) == 401
