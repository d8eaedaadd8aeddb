"""Every page of the smoke crawl, for each role: axe-core (vendored: tests/e2e/vendor; its
target-size rule switched on) finds no violation, on a laptop and on a phone; the page fits a
320 px phone, an 820 px tablet and a 1280 px laptop (no horizontal scrolling of the page itself:
wide tables scroll inside their own box) and cuts no word of ordinary length across two lines;
no two links or buttons share a name for different actions; no console error or CSP violation
(the autouse check in conftest.py).

One crawl per role does it all: each page is loaded once at 1280 px (axe, overflow; then axe's
contrast rules in the dark scheme), then the
same document is resized to 820 and 320 px (overflow, and axe at 320 on the first pages). Two
separate crawls loaded every page twice or three times and were a quarter of the browser tests'
time."""

import re
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db

pytestmark = pytest.mark.e2e

HREF = re.compile(r'href="(/[^"]*)"')
SKIP = ("/static/", "/logout", "/attachments/", "/billing/demo-checkout/", ".csv", "format=csv", "/favicon")
# 320 px: the narrowest phones, and WCAG 2.2's reflow width (1.4.10: a 1,280 px page zoomed 400 %).
VIEWPORTS = [{"width": 320, "height": 700}, {"width": 1280, "height": 800}]
PHONE, LAPTOP = VIEWPORTS
# A tablet, or a small window: the console's layout with its sidebar, in little room (a status
# pill of the articles' list read "Publi/shed" there).
TABLET = {"width": 820, "height": 1180}
# axe on a phone for the first pages of the crawl (the start pages and their neighbours): the
# layout that differs at 320 px is shared by every page, the per-page content is checked at 1280.
AXE_ON_PHONE = 12
# Given to the context as an init script (the DevTools protocol's "script to evaluate on a new
# document"), which the page's CSP does not govern: the pages keep their real CSP, so a violation
# on any crawled page still fails the test.
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Axe audits the page as it is shown: after its stylesheets have loaded. A page reached by a form's
# submission (not page.goto, which waits for "load") could be audited before app.css applied, where
# the skip link is an ordinary link beside the brand: "target-size: .skip-link | .brand", now and
# then under load (2026-12-05).
LOADED = 'if (document.readyState !== "complete") await new Promise((r) => addEventListener("load", r, { once: true }));'
RUN_AXE = (
    """async () => {
  """
    + LOADED
    + """
  const result = await axe.run(document, { resultTypes: ["violations"], rules: { "target-size": { enabled: true } } });
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 2).map((n) => n.target.join(" ")).join(" | ")}`);
}"""
)

# The dark scheme (prefers-color-scheme: dark) on the same document: only the rules whose result a
# scheme can change (the rest were checked in the light one). The KB's status pills and the charts'
# words once failed there alone.
RUN_AXE_CONTRAST = (
    """async () => {
  """
    + LOADED
    + """
  const result = await axe.run(document, { runOnly: ["color-contrast", "link-in-text-block"], resultTypes: ["violations"] });
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 2).map((n) => n.target.join(" ")).join(" | ")}`);
}"""
)


def _links(html):
    for raw in HREF.findall(html):
        url = urldefrag(raw.replace("&amp;", "&"))[0]
        if url and not any(part in url for part in SKIP):
            yield url


def _shape(url):
    """One page per kind: /agent/tickets/7 and /agent/tickets/9 look the same."""
    parts = urlsplit(url)
    keys = sorted({k.split("=")[0] for k in parts.query.split("&") if k and not k.startswith("page=")})
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def crawl(app, email, limit=45):
    """The pages `email` reaches in two clicks from the start page, one of each shape."""
    client = app.test_client()
    client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    start = client.get("/", follow_redirects=True)
    pages, shapes, frontier = [], set(), list(_links(start.get_data(as_text=True)))
    for _depth in range(2):
        following = []
        for url in frontier:
            if _shape(url) in shapes or len(pages) >= limit:
                continue
            shapes.add(_shape(url))
            response = client.get(url)
            if response.status_code == 200 and "text/html" in response.content_type:
                pages.append(url)
                following.extend(_links(response.get_data(as_text=True)))
        frontier = following
    return pages


@pytest.fixture
def demo(live_server):
    with live_server.app.app_context():
        seed_demo()
        db.session.commit()
    return live_server


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  const wide = [...document.querySelectorAll("body *")].filter((el) => {
    const box = el.getBoundingClientRect();
    if (box.right <= width + 1) return false;
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(up).overflowX)) return false;
    }
    return true;
  }).slice(0, 3).map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`);
  return `${document.documentElement.scrollWidth}px wide: ${wide.join(", ")}`;
}"""


# A word of ordinary length cut across two lines ("Cha|rge", "busine|ss hours"): table cells that
# could break anywhere were squeezed that way to fit a phone, or a crowded report at 1,280 px.
# Longer runs of letters (a name or a token someone typed without spaces) may wrap anywhere.
BROKEN_WORDS = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node && found.length < 3; node = walker.nextNode()) {
    for (const word of node.textContent.matchAll(/(?<!\\p{L})\\p{L}{3,14}(?!\\p{L})/gu)) {
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) {
        found.push(`"${word[0]}" in ${node.parentElement.tagName.toLowerCase()}`);
        break;
      }
    }
  }
  return found.join(", ");
}"""


# Two links or buttons of a page's content with one name and different effects ("Edit", "Edit",
# "Edit" down a table): a screen reader's list of links, or a voice command, cannot tell them apart.
SAME_NAMES = """() => {
  const targets = {};
  for (const el of document.querySelectorAll("main a[href], main button")) {
    if (!el.getClientRects().length) continue;
    const name = (el.getAttribute("aria-label") || el.textContent).replace(/\\s+/g, " ").trim();
    const target = el.tagName === "A" ? el.getAttribute("href")
      : el.form ? `${el.form.getAttribute("action")} ${el.name}=${el.value}` : `${el.id} ${el.dataset.kbInsert || ""}`;
    (targets[name] = targets[name] || new Set()).add(target);
  }
  return Object.entries(targets).filter(([, t]) => t.size > 1).map(([name, t]) => `"${name}" x${t.size}`).join(", ");
}"""


CHECKS = {OVERFLOW: "too wide", BROKEN_WORDS: "words cut", SAME_NAMES: "one name, different actions"}


def _layout_problems(page, where, scripts):
    """What each check script finds on the page as it is laid out now, as messages."""
    return [
        f"{CHECKS[script]} {where}: {problem}" for script in scripts if (problem := page.evaluate(script))
    ]


def _logged_in_page(context, server, email):
    page = context.new_page()
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


# The admin's crawl, the longest (45 pages, over a minute alone on a slow VM), is checked in two
# halves: two test workers can share it, instead of one finishing it while the other waits.
CRAWLS = [
    ("admin@example.com", 0, 2),
    ("admin@example.com", 1, 2),
    ("alice@example.com", 0, 1),
    ("carol@acme.example", 0, 1),
]


@pytest.mark.parametrize(("email", "part", "parts"), CRAWLS)
def test_every_page_passes_axe_and_fits_a_phone_and_a_laptop(browser, demo, email, part, parts):
    with demo.app.app_context():
        urls = crawl(demo.app, email)
    assert len(urls) > 5
    context = browser.new_context(viewport=LAPTOP)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto(demo.url + "/login")
    found = [f"axe /login: {v}" for v in page.evaluate(RUN_AXE)]
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    for number, url in enumerate(urls):
        if number % parts != part:
            continue  # the other half's
        page.set_viewport_size(LAPTOP)
        page.goto(demo.url + url)
        found += [f"axe 1280 px {url}: {v}" for v in page.evaluate(RUN_AXE)]
        found += _layout_problems(page, f"at 1280 px {url}", (OVERFLOW, BROKEN_WORDS, SAME_NAMES))
        page.emulate_media(color_scheme="dark")
        found += [f"axe dark 1280 px {url}: {v}" for v in page.evaluate(RUN_AXE_CONTRAST)]
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(TABLET)
        found += _layout_problems(page, f"at 820 px {url}", (OVERFLOW, BROKEN_WORDS))
        page.set_viewport_size(PHONE)
        found += _layout_problems(page, f"at 320 px {url}", (OVERFLOW, BROKEN_WORDS))
        if number < AXE_ON_PHONE:
            found += [f"axe 320 px {url}: {v}" for v in page.evaluate(RUN_AXE)]
    context.close()
    assert found == [], "\n".join(found)


def test_text_typed_without_spaces_never_widens_a_page(browser, demo):
    """A name or a subject of one long unbroken word (a pasted log line, a path) wraps where it
    must: the pages that show it still fit a phone and a laptop. Table cells that hold the desk's
    words break only between words on a phone; a regression there once let a 150-letter subject
    widen the portal's ticket list to 1,851 px at 1280."""
    from sqlalchemy import select

    from helpdesk.accounts.models import User
    from helpdesk.tickets.models import Ticket

    with demo.app.app_context():
        alice = db.session.scalar(select(User).where(User.email == "alice@example.com"))
        alice.name = "Alice " + "Archer" * 13
        ticket = db.session.scalar(select(Ticket).where(Ticket.requester_id == alice.id).order_by(Ticket.id))
        ticket.subject = "Error:" + "x" * 150
        ticket_id = ticket.id
        db.session.commit()
    found = []
    for email, urls in [
        ("alice@example.com", ["/portal/tickets", f"/portal/tickets/{ticket_id}", "/portal/credits"]),
        ("admin@example.com", ["/agent/?status=all", f"/agent/tickets/{ticket_id}", "/admin/users"]),
    ]:
        context = browser.new_context(viewport=LAPTOP)
        page = _logged_in_page(context, demo, email)
        for url in urls:
            page.set_viewport_size(LAPTOP)
            response = page.goto(demo.url + url)
            assert response.status == 200, url
            assert "x" * 150 in page.content() or url.startswith(("/portal/credits", "/admin/users")), url
            for viewport in (LAPTOP, TABLET, PHONE):
                page.set_viewport_size(viewport)
                found += _layout_problems(page, f"at {viewport['width']} px {url}", (OVERFLOW, BROKEN_WORDS))
        context.close()
    assert found == [], "\n".join(found)


def test_the_skip_link_once_focused_covers_nothing(browser, demo):
    """The first Tab of a page shows "Skip to content" (WCAG 2.4.1). Drawn over the header, it hid
    the desk's name and link beneath it: axe's target-size rule failed on a page whose focus had
    landed there (the webhook form, once). Shown in the page's flow, it pushes the header down."""
    for email, path in (("alice@example.com", "/portal/tickets"), ("admin@example.com", "/agent/")):
        context = browser.new_context(viewport=LAPTOP)
        context.add_init_script(path=str(AXE))
        page = _logged_in_page(context, demo, email)
        page.goto(demo.url + path)
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        assert skip.evaluate("el => el === document.activeElement")
        shown, brand = skip.bounding_box(), page.locator(".site-header .brand").bounding_box()
        assert shown["x"] >= 0 and shown["y"] >= 0 and shown["width"] > 0, shown
        assert shown["y"] + shown["height"] <= brand["y"], (shown, brand)  # above the header, not over it
        assert [v for v in page.evaluate(RUN_AXE) if v.startswith("target-size")] == []
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")  # the next Tab goes on from the page's content, not the header
        assert page.evaluate("document.activeElement.closest('main') !== null")
        context.close()
