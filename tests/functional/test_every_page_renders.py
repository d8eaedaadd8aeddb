"""Smoke test over the seeded demo: every link a user can reach in two clicks renders without error."""

import re
from urllib.parse import urldefrag, urlsplit

import pytest

from helpdesk.extensions import db
from helpdesk.services.seed import DEMO_PASSWORD, seed_demo

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


@pytest.mark.parametrize("email", DEMO_USERS)
def test_every_reachable_page_renders(app, email):
    seed_demo()
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    start = client.get("/", follow_redirects=True)
    assert start.status_code == 200
    seen, frontier = set(), list(_links(start.get_data(as_text=True)))
    for _depth in range(2):
        following = []
        for url in frontier:
            if url in seen or len(seen) >= 80:
                continue
            seen.add(url)
            response = client.get(url)
            assert response.status_code in (200, 302, 303), f"{email}: GET {url} -> {response.status_code}"
            if response.status_code == 200 and "text/html" in response.content_type:
                following.extend(_links(response.get_data(as_text=True)))
        frontier = following
    assert len(seen) > 5
    paths = {urlsplit(u).path for u in seen}
    if email == "admin@example.com":
        assert {"/admin/users", "/agent/", "/agent/reports"} <= paths
