"""The README's tour: screenshots of the main pages, per role, in the light and the dark scheme.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts the app on a temporary SQLite database (migrated to head, with `flask seed-demo`'s demo
data) in a server thread, signs in as each role in Debian's Chromium (/usr/bin/chromium, or
CHROMIUM_PATH) through Playwright, and saves a 1280x800 PNG of each page of PAGES in both colour
schemes: <role>-<page>-<scheme>.png. tests/functional/test_screenshot_pages.py checks that every
page of PAGES answers 200 to its role.
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Who signs in for each role (the demo desk's users, password helpdesk-demo).
ROLES = {
    "customer": "alice@example.com",
    "technician": "it.tech@example.com",
    "admin": "admin@example.com",
}
# (file name, what the page is, path): "{ticket}" is a ticket the role sees (see ticket_for).
PAGES = {
    "customer": (
        ("tickets", "Her tickets in the portal", "/portal/tickets"),
        ("new-ticket", "The new-ticket form with its live credit quote", "/portal/tickets/new"),
        ("ticket", "One of her tickets", "/portal/tickets/{ticket}"),
        ("kb-search", "The knowledge base's search, the words marked in each result", "/kb/search?q=vpn"),
    ),
    "technician": (
        ("queue", "The queue, Needs attention first, with the views beside it", "/agent/"),
        ("ticket", "A ticket in the agent console", "/agent/tickets/{ticket}"),
        ("on-behalf", "A ticket opened for a customer who phoned", "/agent/tickets/new"),
        (
            "kb-report",
            "The knowledge base's report: deflections, searches with no answer",
            "/agent/reports/kb",
        ),
    ),
    "admin": (
        ("home", "The admin home with every section", "/admin/"),
        ("branding", "Branding: the desk's name, logo and accent colour", "/admin/branding"),
        ("permissions", "Technicians by category: who works which tickets", "/admin/permissions"),
    ),
}
SCHEMES = ("light", "dark")
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def ticket_for(email):
    """The id of the newest ticket the user `email` sees (in an app context)."""
    from sqlalchemy import select

    from helpdesk import policy
    from helpdesk.accounts.models import User
    from helpdesk.extensions import db
    from helpdesk.tickets.models import Ticket

    user = db.session.scalar(select(User).where(User.email == email))
    return db.session.scalar(
        select(Ticket.id).where(policy.ticket_visibility(user)).order_by(Ticket.id.desc()).limit(1)
    )


def page_paths(role):
    """(file name, path) of each page of `role`, ticket ids filled in (in an app context)."""
    ticket = ticket_for(ROLES[role])
    return [(name, path.format(ticket=ticket)) for name, _what, path in PAGES[role]]


def build_demo_app(folder):
    """An app on a fresh SQLite database in `folder`: migrated to head, demo data seeded."""
    os.environ["HELPDESK_INSTANCE_PATH"] = str(folder)
    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.demo.seed import seed_demo
    from helpdesk.extensions import db

    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder}/tour.sqlite3",
            "SECRET_KEY": "screenshots-only",
            "MAIL_BACKEND": "devbox",
            "UPLOAD_FOLDER": str(Path(folder) / "uploads"),
            "ATTACHMENTS_S3_BUCKET": None,
            "DEMO_PAYMENTS": True,
        }
    )
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
    return app


def shoot(app, url, out):
    """Sign in as each role in each scheme and save every page of PAGES; returns the files."""
    from playwright.sync_api import sync_playwright

    from helpdesk.demo.seed import DEMO_PASSWORD

    with app.app_context():
        paths = {role: page_paths(role) for role in PAGES}
    saved = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for role, email in ROLES.items():
            for scheme in SCHEMES:
                context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme, reduced_motion="reduce")
                page = context.new_page()
                page.goto(url + "/login")
                page.get_by_label("E-mail").fill(email)
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_load_state("networkidle")
                for name, path in paths[role]:
                    page.goto(url + path, wait_until="networkidle")
                    target = out / f"{role}-{name}-{scheme}.png"
                    page.screenshot(path=str(target), full_page=False)
                    saved.append(target)
                context.close()
        browser.close()
    return saved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        sys.exit(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory(prefix="helpdesk-tour-") as folder:
        app = build_demo_app(folder)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            saved = shoot(app, f"http://127.0.0.1:{server.server_port}", out)
        finally:
            server.shutdown()
            thread.join(5)
    for path in saved:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
