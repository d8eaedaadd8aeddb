"""Smoke test over the seeded demo: every link a user can reach in two clicks renders without error."""

import html
import re
from urllib.parse import urldefrag, urlsplit

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db
from tests.markup_checks import markup_problems

DEMO_USERS = [
    "admin@example.com",
    "it.tech@example.com",
    "sales.tech@example.com",
    "alice@example.com",
    "bob@example.com",
    "carol@acme.example",
    "dave@acme.example",
    "john@example.com",
]
HREF = re.compile(r'href="(/[^"]*)"')
SKIP = ("/static/", "/logout", "/attachments/", "/billing/demo-checkout/", ".csv", "format=csv")


def _links(html):
    for raw in HREF.findall(html):
        url = urldefrag(raw.replace("&amp;", "&"))[0]
        if url and not any(part in url for part in SKIP):
            yield url


def _text(markup):
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


def _check_headings(email, url, page):
    """One h1, naming the page as its title does (the admin pages' h1 was "Administration" or
    "Billing admin" on every page, the page's name an h2), and no level skipped below it."""
    if not page.lstrip().lower().startswith("<!doctype"):
        return  # a fragment
    title = _text(re.search(r"<title>(.*?)</title>", page, re.S).group(1)).split(" · ")[0]
    h1s = [_text(h) for h in re.findall(r"<h1[^>]*>(.*?)</h1>", page, re.S)]
    assert len(h1s) == 1, f"{email}: {url} has {len(h1s)} h1: {h1s}"
    assert title.lower() in h1s[0].lower() or h1s[0].lower() in title.lower(), (
        f"{email}: {url} is titled {title!r} but its h1 says {h1s[0]!r}"
    )
    levels = [int(level) for level in re.findall(r"<h([1-6])[\s>]", page)]
    skipped = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    assert not skipped, f"{email}: {url} skips heading levels {skipped}"


def _check_markup(email, url, page):
    problems = markup_problems(page)
    assert not problems, f"{email}: {url}: {problems}"


@pytest.mark.parametrize("email", DEMO_USERS)
def test_every_reachable_page_renders(app, email, monkeypatch):
    seed_demo()
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    # The forms' CSRF tokens drawn as on a real desk (the crawl only reads pages)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    start = client.get("/", follow_redirects=True)
    assert start.status_code == 200
    seen, frontier = set(), list(_links(start.get_data(as_text=True)))
    titled = {}  # a full page's title -> the paths (numbers as N) of the pages that carry it
    for _depth in range(2):
        following = []
        for url in frontier:
            if url in seen or len(seen) >= 80:
                continue
            seen.add(url)
            response = client.get(url)
            assert response.status_code in (200, 302, 303), f"{email}: GET {url} -> {response.status_code}"
            if response.status_code == 200 and "text/html" in response.content_type:
                page = response.get_data(as_text=True)
                _check_headings(email, url, page)
                _check_markup(email, url, page)
                if title := re.search(r"<title>(.*?)</title>", page, re.S):
                    titled.setdefault(_text(title.group(1)), set()).add(
                        re.sub(r"\d+", "N", urlsplit(url).path)
                    )
                following.extend(_links(page))
        frontier = following
    assert len(seen) > 5
    # Two pages of one title (the customer's "Credits" was their statement and the page that sells
    # them credits): a tab, a bookmark or the browser's history could not tell them apart.
    shared = {title: sorted(paths) for title, paths in titled.items() if len(paths) > 1}
    assert shared == {}, f"{email}: pages sharing a title: {shared}"
    paths = {urlsplit(u).path for u in seen}
    if email == "admin@example.com":
        assert {"/admin/users", "/agent/", "/agent/reports"} <= paths


@pytest.mark.parametrize("page", ["abc", "-3", "0", "", "99999999999", "500"])
def test_a_nonsense_or_past_the_end_page_number_never_errors(app, page):
    """Every paginated list reads ?page= the same way (web.paginate): nonsense means page 1, a page
    past the end is an empty page."""
    seed_demo()
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": DEMO_PASSWORD})
    for path in (
        "/admin/users",
        "/admin/mail/",
        "/admin/credits/",
        "/admin/billing/payments",
        "/admin/billing/packs",
        "/admin/billing/alerts",
        "/admin/billing/subscriptions",
        "/billing/",
    ):
        response = client.get(path, query_string={"page": page})
        assert response.status_code == 200, f"{path}?page={page} -> {response.status_code}"
    client.post("/logout")
    client.post("/login", data={"email": "carol@acme.example", "password": DEMO_PASSWORD})
    for path in ("/portal/tickets", "/portal/credits"):
        response = client.get(path, query_string={"page": page})
        assert response.status_code == 200, f"{path}?page={page} -> {response.status_code}"


def test_a_shared_bank_statement_links_only_the_tickets_the_viewer_may_open(app):
    """Acme's statement lists every member's charges; dave (not a manager) sees carol's as a
    plain number, carol (the manager) as links."""
    from helpdesk.accounts.models import User
    from helpdesk.credits.models import LedgerEntry
    from helpdesk.tickets.models import Ticket

    seed_demo()
    db.session.commit()
    carol_charge = db.session.scalar(
        db.select(LedgerEntry.ticket_id)
        .join(Ticket, Ticket.id == LedgerEntry.ticket_id)
        .join(User, User.id == Ticket.requester_id)
        .where(User.email == "carol@acme.example", LedgerEntry.kind == "charge")
        .limit(1)
    )
    link = f'<a href="/portal/tickets/{carol_charge}">#{carol_charge}</a>'
    for email, linked in (("dave@acme.example", False), ("carol@acme.example", True)):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        page = client.get("/portal/credits").get_data(as_text=True)
        assert f"#{carol_charge}" in page and (link in page) == linked, email
