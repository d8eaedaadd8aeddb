"""Moments as people read them: relative words ("3 h ago", "in 42 min", "yesterday") with the exact
time in the viewer's zone on hover and for screen readers (web.moment)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.web import exact_label, relative_label

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("offset", "words"),
    [
        (timedelta(0), "just now"),
        (-timedelta(seconds=59), "just now"),
        (-timedelta(seconds=60), "1 min ago"),
        (-timedelta(minutes=59, seconds=59), "59 min ago"),
        (-timedelta(hours=1), "1 h ago"),
        (-timedelta(hours=3, minutes=10), "3 h ago"),
        (timedelta(seconds=59), "in under a minute"),
        (timedelta(minutes=1), "in 1 min"),
        (timedelta(minutes=42, seconds=30), "in 42 min"),
        (timedelta(hours=1), "in 1 h"),
        (timedelta(hours=8, minutes=59), "in 8 h"),
        (-timedelta(hours=14), "14 h ago"),  # 01:00 the same day: still hours
        (-timedelta(hours=20), "yesterday"),  # 19:00 the day before
        (timedelta(hours=20), "tomorrow"),
        (-timedelta(days=3), "3 days ago"),
        (timedelta(days=5), "in 5 days"),
        (-timedelta(days=20), "12 Nov"),
        (-timedelta(days=400), "28 Oct 2025"),
    ],
)
def test_relative_words(offset, words):
    assert relative_label(NOW + offset, NOW, LONDON) == words


def test_days_are_counted_on_the_viewers_calendar():
    """13 hours ago, 02:00 in London: the same day there, yesterday in Tokyo (it is 00:00 there)."""
    moment = NOW - timedelta(hours=13)
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert relative_label(moment, now, LONDON) == "13 h ago"
    assert relative_label(moment, now, TOKYO) == "yesterday"


def test_the_exact_time_is_in_the_viewers_zone():
    assert exact_label(NOW, LONDON) == "Wed 2 Dec 2026, 15:00 GMT"
    assert exact_label(NOW, TOKYO) == "Thu 3 Dec 2026, 00:00 JST"
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert exact_label(summer, LONDON) == "Wed 1 Jul 2026, 13:00 BST"


def test_the_filter_writes_a_time_element_with_the_exact_time(app):
    from helpdesk.web import moment  # a visitor: UTC

    with app.test_request_context("/"):
        from flask import request

        request._helpdesk_now = NOW
        html = str(moment(NOW - timedelta(minutes=5)))
    assert html == (
        '<time datetime="2026-12-02T14:55:00+00:00" title="Wed 2 Dec 2026, 14:55 UTC" data-relative>'
        '5 min ago<span class="visually-hidden"> (Wed 2 Dec 2026, 14:55 UTC)</span></time>'
    )
    assert moment(None) == ""


@dataclass
class Row:
    """A page's row as the fingerprint sees it (a module's dataclass, as the pages' are)."""

    created: datetime
    subject: str
    due: datetime | None


def test_a_pages_fingerprint_reads_every_moment_it_holds_in_order():
    """The fingerprint's pickling pass (conditional.moments_of) finds every aware datetime in dicts,
    lists, tuples and dataclasses (a queue page's rows), in the order the page holds them; naive
    ones, strings, numbers and classes are skipped. relative_words gives their words."""
    from helpdesk.conditional import moments_of, relative_words

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    shown = {
        "rows": [Row(now - timedelta(minutes=5), "a", now + timedelta(hours=2)), Row(now, "b", None)],
        "kind": Row,
        "naive": datetime(2026, 1, 1),
        "pair": (now - timedelta(days=1), 3),
    }
    assert relative_words(moments_of(shown), now, UTC) == ["5 min ago", "in 2 h", "just now", "yesterday"]
