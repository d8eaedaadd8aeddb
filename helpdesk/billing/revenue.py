"""Revenue and credit report per month: credits sold, granted, consumed, refunded, outstanding.

Guarantees: figures come from the ledger (credits) and payments (money), summed in SQL per UTC
month on SQLite and PostgreSQL alike; outstanding is the running total of every entry up to
the month's end (the credits the help desk still owes its customers: the liability).
"""

import csv
import io
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import case, func, select

from helpdesk.billing.models import Payment
from helpdesk.credits.models import LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

GRANT_KINDS = ("signup_grant", "allowance", "adjustment")
CONSUME_KINDS = ("charge", "refund")  # ticket charges, net of credits given back on tickets
CSV_COLUMNS = (
    "month",
    "credits_sold",
    "credits_granted",
    "credits_consumed",
    "credits_refunded",
    "credits_outstanding",
    "revenue_minor",
    "refunds_minor",
    "currency",
)


@dataclass
class MonthRow:
    month: str
    sold: int = 0
    granted: int = 0
    consumed: int = 0
    refunded: int = 0
    net: int = 0
    outstanding: int = 0
    revenue: int = 0
    refunds: int = 0


@dataclass
class Report:
    rows: list = field(default_factory=list)
    currency: str = "usd"
    chart: dict = field(default_factory=dict)


def month_of(column):
    """SQL for 'YYYY-MM' of a UTC timestamp column, on either database."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _sum_where(condition, value):
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _ledger_by_month():
    month = month_of(LedgerEntry.created_at).label("month")
    amount = LedgerEntry.amount
    query = select(
        month,
        _sum_where(LedgerEntry.kind == "purchase", amount),
        _sum_where(LedgerEntry.kind.in_(GRANT_KINDS), amount),
        _sum_where(LedgerEntry.kind.in_(CONSUME_KINDS), -amount),
        _sum_where(LedgerEntry.kind == "reversal", -amount),
        func.sum(amount),
    ).group_by(month)
    return {row[0]: [int(v) for v in row[1:]] for row in db.session.execute(query)}


def _money_by_month(column, value, currency):
    month = month_of(column).label("month")
    query = (
        select(month, func.sum(value))
        .where(column.is_not(None), Payment.currency == currency)
        .group_by(month)
    )
    return {m: int(total or 0) for m, total in db.session.execute(query)}


def _months_between(first, last):
    year, month = int(first[:4]), int(first[5:])
    while f"{year:04d}-{month:02d}" <= last:
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def monthly_report(months=12):
    """The last `months` months (oldest first), with outstanding credits carried from the start."""
    currency = current_app.config.get("CURRENCY", "usd").lower()
    ledger = _ledger_by_month()
    revenue = _money_by_month(Payment.credited_at, Payment.amount, currency)
    refunds = _money_by_month(Payment.refunded_at, Payment.amount_refunded, currency)
    now = utcnow().strftime("%Y-%m")
    seen = [m for m in (*ledger, *revenue, *refunds) if m]
    rows, running = [], 0
    for month in _months_between(min(seen, default=now), now):
        sold, granted, consumed, refunded, net = ledger.get(month, [0, 0, 0, 0, 0])
        running += net
        rows.append(
            MonthRow(
                month,
                sold,
                granted,
                consumed,
                refunded,
                net,
                running,
                revenue.get(month, 0),
                refunds.get(month, 0),
            )
        )
    rows = rows[-months:]
    return Report(rows=rows, currency=currency, chart=chart_geometry(rows))


def chart_geometry(rows, width=720, height=240, pad=36):
    """Bar and line coordinates for the SVG chart (the template only draws them)."""
    series = ("sold", "consumed", "refunded")
    top = max([1] + [max(getattr(r, s) for s in series) for r in rows] + [r.outstanding for r in rows])
    slot = (width - 2 * pad) / max(len(rows), 1)
    bar = min(max(slot / (len(series) + 1), 1), 40)
    plot = height - 2 * pad

    def y(value):
        return round(height - pad - plot * max(value, 0) / top, 1)

    bars, points, labels = [], [], []
    for index, row in enumerate(rows):
        x0 = pad + index * slot + (slot - len(series) * bar) / 2
        for offset, name in enumerate(series):
            value = getattr(row, name)
            bars.append(
                {
                    "x": round(x0 + offset * bar, 1),
                    "y": y(value),
                    "w": round(bar, 1),
                    "h": round(height - pad - y(value), 1),
                    "series": name,
                    "title": f"{row.month} {name}: {value}",
                }
            )
        points.append(
            (round(x0 + 1.5 * bar, 1), y(row.outstanding), f"{row.month} outstanding: {row.outstanding}")
        )
        labels.append({"x": round(x0 + 1.5 * bar, 1), "y": height - pad / 3, "text": row.month})
    return {
        "width": width,
        "height": height,
        "baseline": height - pad,
        "left": pad,
        "right": width - pad,
        "top_label": top,
        "top_y": pad,
        "bars": bars,
        "line": " ".join(f"{x},{y_}" for x, y_, _title in points),
        "dots": [{"x": x, "y": y_, "title": title} for x, y_, title in points],
        "labels": labels,
    }


def report_csv(report):
    """The report as CSV text (credits as integers, money in minor units)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in report.rows:
        writer.writerow(
            [
                r.month,
                r.sold,
                r.granted,
                r.consumed,
                r.refunded,
                r.outstanding,
                r.revenue,
                r.refunds,
                report.currency,
            ]
        )
    return out.getvalue()
