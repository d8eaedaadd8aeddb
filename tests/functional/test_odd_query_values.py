"""Every page a user reaches in two clicks, asked with odd values in its query string: never a
server error. "²" is a digit to str.isdigit() and no number to int(), and a number of thirty digits
fits no column: each answered 500 somewhere (a page number, a queue cursor, a category filter, the
presence stamp, If-Match) until the value was read as ASCII digits within bounds. This crawl
asks every reachable page with them, so the next list or filter that trusts isdigit() fails here."""

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db
from tests.functional.test_every_page_renders import _links

# The names the app's lists and filters read, whether or not a crawled link carries them.
NAMES = (
    "page", "after", "before", "category", "priority", "assignee", "status", "sort", "q", "tag",
    "period", "month", "view", "id", "thread", "outcome", "scope", "state", "draft", "wanted",
)  # fmt: skip
ODD = ("²", "١٢", "9" * 30, "-1", "a\x00b")


def _crawl(client, limit=45):
    start = client.get("/", follow_redirects=True)
    seen, frontier = [], list(_links(start.get_data(as_text=True)))
    for _depth in range(2):
        following = []
        for url in frontier:
            if url in seen or len(seen) >= limit:
                continue
            seen.append(url)
            response = client.get(url)
            if response.status_code == 200 and "text/html" in response.content_type:
                following.extend(_links(response.get_data(as_text=True)))
        frontier = following
    return seen


@pytest.mark.parametrize("email", ["admin@example.com", "it.tech@example.com", "carol@acme.example"])
def test_odd_numbers_in_any_query_string_never_answer_a_server_error(app, email):
    seed_demo()
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    paths = {}
    for url in _crawl(client):
        parts = urlsplit(url)
        names = paths.setdefault(parts.path, set(NAMES))
        names.update(name for name, _ in parse_qsl(parts.query))
    failures = []
    for path, names in paths.items():
        for odd in ODD:
            url = f"{path}?{urlencode({name: odd for name in sorted(names)})}"
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{url} -> {response.status_code}")
    assert not failures, f"{email}: {failures}"
