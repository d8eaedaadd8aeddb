"""Chart geometry for server-side SVG: the template only draws the rectangles and labels given.

No inline styles (the CSP forbids them): colours come from CSS classes on the shapes.
"""

import math

WIDTH = 720


def nice_max(value):
    """The smallest 1, 2 or 5 x 10^k at or above `value` (at least 1), for a readable axis."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _legend(series, y):
    return [
        {"x": 10 + i * 140, "y": y, "cls": cls, "text": name} for i, (name, cls, _values) in enumerate(series)
    ]


def _fmt(value):
    """A value as the page's tables write it: 1,750 and 66.7, never 1750."""
    return f"{value:,g}" if isinstance(value, float) else f"{value:,}"


def column_chart(chart_id, title, desc, labels, series, *, height=260, line=None, label_text=None):
    """Vertical grouped columns, one group per label (e.g. per day), with a y axis of counts.

    `line` (name, css class, values) adds a line with a dot per group over the columns;
    `label_text(label)` shortens the x labels (default: a date without its year).
    """
    left, right, top, bottom = 44, 10, 30, 36
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    plotted = [*series, line] if line else series
    top_value = nice_max(max((max(values, default=0) for _n, _c, values in plotted), default=0))
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    bars = []
    for i, label in enumerate(labels):
        for s, (name, cls, values) in enumerate(series):
            h = plot_h * values[i] / top_value
            x = left + i * group_w + group_w * 0.1 + s * bar_w
            bars.append(_rect(x, top + plot_h - h, bar_w, h, cls, f"{name}, {label}: {_fmt(values[i])}"))
    every = max(1, math.ceil(len(labels) / 10))
    xlabels = [
        {
            "x": round(left + i * group_w + group_w / 2, 1),
            "y": height - 14,
            "text": label_text(label) if label_text else str(label)[5:],
            "anchor": "middle",
        }
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    grid, ylabels = [], []
    steps = next(d for d in (5, 4, 2, 1) if top_value % d == 0)  # whole-number ticks for counts
    for k in range(steps + 1):
        value = top_value * k // steps
        y = round(top + plot_h - plot_h * k / steps, 1)
        grid.append({"x1": left, "y1": y, "x2": WIDTH - right, "y2": y})
        ylabels.append({"x": left - 6, "y": y + 4, "text": f"{value:,}", "anchor": "end"})
    chart = _chart(chart_id, title, desc, height, bars, xlabels + ylabels, grid, _legend(plotted, 14))
    if line:
        name, cls, values = line
        dots = [
            {
                "x": round(left + i * group_w + group_w / 2, 1),
                "y": round(top + plot_h - plot_h * max(value, 0) / top_value, 1),
                "label": f"{name}, {label}: {_fmt(value)}",
            }
            for i, (label, value) in enumerate(zip(labels, values, strict=True))
        ]
        chart["line"] = {"cls": cls, "points": " ".join(f"{d['x']},{d['y']}" for d in dots), "dots": dots}
    return chart


def bar_chart(chart_id, title, desc, labels, series, *, unit="", top_value=None):
    """Horizontal grouped bars, one group per label (category, priority, status), values at the end."""
    left, right, top, bar_h, gap = 150, 70, 30, 14, 10
    group_h = bar_h * len(series) + gap
    height = top + group_h * max(len(labels), 1) + 10
    plot_w = WIDTH - left - right
    present = [v for _name, _cls, values in series for v in values if v is not None]
    top_value = top_value or nice_max(max(present, default=0))
    bars, texts = [], []
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        texts.append({"x": left - 8, "y": y0 + group_h / 2 + 1, "text": str(label)[:22], "anchor": "end"})
        for s, (name, cls, values) in enumerate(series):
            value = values[i]
            w = plot_w * (value or 0) / top_value
            y = y0 + s * bar_h
            bars.append(_rect(left, y, w, bar_h - 2, cls, f"{name}, {label}: {_shown(value, unit)}"))
            texts.append(
                {
                    "x": round(left + w + 4, 1),
                    "y": y + bar_h - 4,
                    "text": _shown(value, unit),
                    "anchor": "start",
                }
            )
    grid = [{"x1": left, "y1": top - 4, "x2": left, "y2": height - 10}]
    return _chart(chart_id, title, desc, height, bars, texts, grid, _legend(series, 14))


def _shown(value, unit):
    return "n/a" if value is None else f"{_fmt(value)}{unit}"


def _rect(x, y, w, h, cls, label):
    return {
        "x": round(x, 1),
        "y": round(y, 1),
        "w": round(max(w, 0), 1),
        "h": round(max(h, 0), 1),
        "cls": cls,
        "label": label,
    }


def _chart(chart_id, title, desc, height, bars, texts, grid, legend):
    return {
        "id": chart_id,
        "title": title,
        "desc": desc,
        "width": WIDTH,
        "height": round(height),
        "bars": bars,
        "texts": texts,
        "grid": grid,
        "legend": legend,
        "line": None,
    }


def report_charts(report):
    """The report's charts by table name, each with a title and a text description."""
    t = report.tables
    f = report.filter
    days = [row[0] for row in t["daily"].rows]
    period = f"from {f.start.isoformat()} to {f.end.isoformat()}"
    volume = (
        f"Opened: {report.totals['opened']}; resolved: {report.totals['resolved']}; {period}. "
        "The table below the chart lists every day."
    )
    daily = column_chart(
        "chart-daily",
        "Tickets opened and resolved per day",
        volume,
        days,
        [
            ("Opened", "series-opened", [r[1] for r in t["daily"].rows]),
            ("Resolved", "series-resolved", [r[2] for r in t["daily"].rows]),
        ],
    )
    categories = bar_chart(
        "chart-categories",
        "Tickets by category",
        "Opened and resolved per category " + period + ": " + _summary(t["categories"].rows),
        [r[0] for r in t["categories"].rows],
        [
            ("Opened", "series-opened", [r[1] for r in t["categories"].rows]),
            ("Resolved", "series-resolved", [r[2] for r in t["categories"].rows]),
        ],
    )
    compliance = bar_chart(
        "chart-compliance",
        "Response-target compliance by priority",
        "Share of answered-or-due tickets whose first response met the target: "
        + "; ".join(f"{r[0]} {_shown(r[6], '%')}" for r in t["compliance"].rows)
        + ".",
        [r[0] for r in t["compliance"].rows],
        [("Compliance", "series-compliance", [r[6] for r in t["compliance"].rows])],
        unit="%",
        top_value=100,
    )
    backlog = bar_chart(
        "chart-backlog",
        "Backlog by status",
        "Unresolved tickets now: " + _summary(t["backlog"].rows),
        [r[0] for r in t["backlog"].rows],
        [("Tickets", "series-backlog", [r[1] for r in t["backlog"].rows])],
    )
    return {"daily": daily, "categories": categories, "compliance": compliance, "backlog": backlog}


def _summary(rows):
    return "; ".join(f"{r[0]} {r[1]}" for r in rows) + "." if rows else "none."
