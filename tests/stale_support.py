"""What the tests of stale forms share (their two admins, Ada and Bob, are fixtures of
tests/functional/conftest.py)."""

import html

HX = {"HX-Request": "true"}
WHEN = r"at \d\d:\d\d"  # "changed at 14:05 by ..." (staleness.refusal)


def page_text(response):
    """The answer's HTML with its entities read (“, ’ as typed)."""
    return html.unescape(response.get_data(as_text=True))
