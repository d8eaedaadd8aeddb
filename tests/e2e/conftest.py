"""Browser journeys: a live server on 127.0.0.1 driven by Playwright in Debian's Chromium."""

import os
import shutil
import threading
import time

import pytest
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import SERVER_POLL, make_test_config

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Reported to the console by the page itself for every Content-Security-Policy violation, so the
# check below sees them even where Chromium's own report is worded differently.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


# htmx logs a request it cancelled on purpose (a newer one replaced it, hx-sync "this:replace",
# as typing in the subject does; or the page moved on) as errors named after the events it fires
# on the abort: expected on a slow connection, not a problem. A failed request still counts:
# htmx:sendError (network), htmx:responseError (4xx/5xx), htmx:timeout.
CANCELLED_REQUEST_LOGS = ("htmx:sendAbort", "htmx:afterRequest")


def _problem(message):
    return message.type == "error" and not message.text.startswith(CANCELLED_REQUEST_LOGS)


def watch_for_problems(context, problems):
    """Record console errors, uncaught exceptions and CSP violations of every page of `context`."""
    context.add_init_script(REPORT_CSP)

    def on_page(page):
        page.on("console", lambda m: _problem(m) and problems.append(f"{page.url}: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))

    context.on("page", on_page)


@pytest.fixture(autouse=True)
def no_browser_problems(request):
    """Any console error, JavaScript exception or CSP violation in a browser test fails it. A test
    that provokes an error on purpose lists the expected texts with
    `@pytest.mark.browser_errors("409", ...)`."""
    if "e2e" not in request.keywords:
        yield None
        return
    browser = request.getfixturevalue("browser")
    problems = []
    original = browser.new_context

    def new_context(*args, **kwargs):
        context = original(*args, **kwargs)
        watch_for_problems(context, problems)
        return context

    browser.new_context = new_context
    yield problems
    del browser.new_context
    marker = request.node.get_closest_marker("browser_errors")
    expected = marker.args if marker else ()
    unexpected = [p for p in problems if not any(text in p for text in expected)]
    assert unexpected == [], "console errors or CSP violations in the browser"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def patient_expectations():
    """Assertions wait up to 15 s: two test workers and Chromium share two cores, so a swap that
    takes 100 ms alone can take seconds under load. A real failure still fails, just later."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser():
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not executable:
        missing = "Chromium not installed: `apt-get install -y chromium` to run the browser tests"
        if os.environ.get("BROWSER_TESTS_REQUIRED"):  # .ci/run installs it: never skipped there
            pytest.fail(missing)
        pytest.skip(missing)  # a developer's machine without it still runs every other test
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


# A slow connection, on demand: `E2E_HTMX_DELAY=1.5 make test-sqlite` makes the test servers answer
# every htmx request that many seconds late, so the journeys run with answers arriving while the
# user goes on typing (how the focus bug of a late price quote was found). Unset: no delay.
HTMX_DELAY = float(os.environ.get("E2E_HTMX_DELAY") or 0)


def read_whole(wsgi_app):
    """Each answer read into memory, and its iterable closed, before the server writes it.

    Werkzeug's development server leaves a file response open when the browser drops the
    connection half-way (a page navigating away while a script downloads): the file is then
    reported unclosed (ResourceWarning) in whichever test runs next. Test answers are small.
    Every test server serves through it (LiveServer, and the journeys that start their own)."""

    def app(environ, start_response):
        if HTMX_DELAY and environ.get("HTTP_HX_REQUEST"):
            time.sleep(HTMX_DELAY)
        result = wsgi_app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            if hasattr(result, "close"):
                result.close()

    return app


class LiveServer:
    """A real HTTP server in a thread, with its own app on a file SQLite database."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, read_whole(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": SERVER_POLL}, daemon=True
        )
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server_factory(tmp_path):
    """live_server_factory(**config) -> LiveServer with reference data seeded; stopped after the test."""
    servers = []

    def start(**overrides):
        path = tmp_path / f"e2e-{len(servers)}.sqlite3"
        config = make_test_config(f"sqlite:///{path}", str(tmp_path), **overrides)
        app = create_app(config)
        with app.app_context():
            db.create_all()
            from helpdesk.demo.seed import seed_reference_data

            seed_reference_data()
            db.session.commit()
        server = LiveServer(app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        with server.app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live_server(live_server_factory):
    return live_server_factory()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
