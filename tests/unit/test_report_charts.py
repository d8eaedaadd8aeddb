"""Chart geometry and value formatting for the reports page."""

import pytest

from helpdesk.charts import bar_chart, column_chart, nice_max
from helpdesk.reports.format import format_cell, format_minutes


@pytest.mark.parametrize("value,expected", [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (48, 50), (120, 200)])
def test_nice_max(value, expected):
    assert nice_max(value) == expected


def test_column_chart_scales_bars_to_the_axis_with_whole_number_ticks():
    chart = column_chart(
        "c", "Title", "Desc", ["2026-11-01", "2026-11-02"], [("Opened", "series-opened", [3, 0])]
    )
    tall, empty = chart["bars"]
    assert empty["h"] == 0 and tall["h"] == pytest.approx((260 - 30 - 36) * 3 / 5, abs=0.1)
    assert tall["label"] == "Opened, 2026-11-01: 3"
    assert [t["text"] for t in chart["texts"] if t["anchor"] == "end"] == ["0", "1", "2", "3", "4", "5"]


def test_bar_chart_shows_missing_values_as_not_available():
    chart = bar_chart(
        "b",
        "T",
        "D",
        ["Low", "High"],
        [("Compliance", "series-compliance", [None, 50.0])],
        unit="%",
        top_value=100,
    )
    assert [b["label"] for b in chart["bars"]] == ["Compliance, Low: n/a", "Compliance, High: 50%"]
    assert chart["bars"][0]["w"] == 0 and chart["bars"][1]["w"] == pytest.approx((720 - 150 - 70) / 2)


@pytest.mark.parametrize(
    "minutes,text",
    [(0.4, "0 min"), (45, "45 min"), (60, "1 h"), (200, "3 h 20 min"), (1440, "1 d"), (3120, "2 d 4 h")],
)
def test_format_minutes(minutes, text):
    assert format_minutes(minutes) == text


def test_format_cell():
    assert format_cell(None, "minutes") == "–"
    assert format_cell(81.8, "percent") == "81.8%"
    assert format_cell(12, "int") == "12"
