"""Every page of the smoke crawl fits a 390 px phone and a 1280 px laptop: no horizontal scrolling of
the page itself (wide tables scroll inside their own box), no console error or CSP violation."""

import re
from urllib.parse import urldefrag, urlsplit

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db

pytestmark = pytest.mark.e2e

HREF = re.compile(r'href="(/[^"]*)"')
SKIP = ("/static/", "/logout", "/attachments/", "/billing/demo-checkout/", ".csv", "format=csv", "/favicon")
VIEWPORTS = [{"width": 390, "height": 844}, {"width": 1280, "height": 800}]
USERS = ["admin@example.com", "alice@example.com", "carol@acme.example"]


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


@pytest.mark.parametrize("email", USERS)
def test_every_page_fits_a_phone_and_a_laptop(browser, demo, email):
    with demo.app.app_context():
        urls = crawl(demo.app, email)
    assert len(urls) > 5
    context = browser.new_context(viewport=VIEWPORTS[0])
    page = context.new_page()
    page.goto(demo.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    too_wide = []
    for viewport in VIEWPORTS:
        page.set_viewport_size(viewport)
        for url in urls:
            page.goto(demo.url + url)
            problem = page.evaluate(OVERFLOW)
            if problem:
                too_wide.append(f"{viewport['width']} px {url}: {problem}")
    context.close()
    assert too_wide == [], "\n".join(too_wide)
