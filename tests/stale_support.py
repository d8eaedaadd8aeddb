"""What the tests of stale forms share (their two admins, Ada and Bob, are fixtures of
tests/functional/conftest.py)."""

import html
import re

HX = {"HX-Request": "true"}
WHEN = r"at \d\d:\d\d"  # "changed at 14:05 by ..." (staleness.refusal)


def page_text(response):
    """The answer's HTML with its entities read (“, ’ as typed)."""
    return html.unescape(response.get_data(as_text=True))


def refused_as_stale(response, message):
    """The text of a save refused because the form was stale: 409, saying `message` (a regex)."""
    body = page_text(response)
    assert response.status_code == 409
    assert re.search(message, body), body
    return body
