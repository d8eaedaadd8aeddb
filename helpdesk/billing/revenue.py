"""Revenue and credit report per month: credits sold, granted, consumed, refunded, outstanding.

Guarantees: figures come from the ledger (credits) and payments (money: packs and top-ups by
card, and paid subscription invoices), summed in SQL per UTC month on SQLite and PostgreSQL alike; outstanding is the running total of every entry up to
the month's end (the credits the help desk still owes its customers: the liability).
"""

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import case, func, select

from helpdesk import charts
from helpdesk.billing.models import CardDispute, Payment, PaymentRefund, SubscriptionInvoice
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
    "disputes_minor",
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
    disputes: int = 0  # money card disputes withdrew that month, less what they gave back


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


def _money_by_month(column, value, currency, currency_column=Payment.currency):
    month = month_of(column).label("month")
    query = (
        select(month, func.sum(value)).where(column.is_not(None), currency_column == currency).group_by(month)
    )
    return {m: int(total or 0) for m, total in db.session.execute(query)}


def _revenue_by_month(currency):
    """Money taken per month: card payments when credited, subscription invoices when paid (their
    allowance counts as granted credits, not sold ones, but the money is revenue all the same)."""
    revenue = _money_by_month(Payment.credited_at, Payment.amount, currency)
    invoices = _money_by_month(
        SubscriptionInvoice.paid_at,
        SubscriptionInvoice.amount_paid,
        currency,
        currency_column=SubscriptionInvoice.currency,
    )
    for month, total in invoices.items():
        revenue[month] = revenue.get(month, 0) + total
    return revenue


def _refunds_by_month(currency):
    """Card refunds per month, each in the month it was made (a payment refunded in two steps
    counts in both months: its running total would book the whole in the later one)."""
    month = month_of(PaymentRefund.refunded_at).label("month")
    query = (
        select(month, func.sum(PaymentRefund.amount))
        .join(Payment, Payment.id == PaymentRefund.payment_id)
        .where(Payment.currency == currency)
        .group_by(month)
    )
    return {m: int(total or 0) for m, total in db.session.execute(query)}


def _disputes_by_month(currency):
    """Money held back by card disputes per month: each dispute's amount in the month its funds
    were withdrawn, given back (a negative figure) in the month they were reinstated (a dispute
    won). A closed month keeps what it showed."""
    disputes = {}
    for column, sign in ((CardDispute.funds_withdrawn_at, 1), (CardDispute.funds_reinstated_at, -1)):
        moved = _money_by_month(column, CardDispute.amount, currency, currency_column=CardDispute.currency)
        for month, total in moved.items():
            disputes[month] = disputes.get(month, 0) + sign * total
    return disputes


def _months_between(first, last):
    year, month = int(first[:4]), int(first[5:])
    while f"{year:04d}-{month:02d}" <= last:
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def monthly_report(months=12):
    """The last `months` months (oldest first), with outstanding credits carried from the start."""
    currency = current_app.config.get("CURRENCY", "usd").lower()
    ledger = _ledger_by_month()
    revenue = _revenue_by_month(currency)
    refunds = _refunds_by_month(currency)
    disputes = _disputes_by_month(currency)
    now = utcnow().strftime("%Y-%m")
    seen = [m for m in (*ledger, *revenue, *refunds, *disputes) if m]
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
                disputes.get(month, 0),
            )
        )
    rows = rows[-months:]
    return Report(rows=rows, currency=currency, chart=revenue_chart(rows))


def revenue_chart(rows):
    """Credits sold, consumed and refunded per month as columns, credits outstanding as a line."""
    months = [r.month for r in rows]
    return charts.column_chart(
        "chart-revenue",
        "Credits sold, consumed and refunded per month, and credits outstanding",
        "Columns per month for credits sold, consumed and refunded; the line is the credits "
        "outstanding at each month's end. The table below has the same figures.",
        months,
        [
            ("Sold", "bar-sold", [r.sold for r in rows]),
            ("Consumed", "bar-consumed", [r.consumed for r in rows]),
            ("Refunded", "bar-refunded", [r.refunded for r in rows]),
        ],
        line=("Outstanding", "line-outstanding", [r.outstanding for r in rows]),
        label_text=str,
        height=240,
    )


def report_csv_rows(report):
    """The report's rows for CSV (credits as integers, money in minor units), under CSV_COLUMNS."""
    return [
        (
            r.month,
            r.sold,
            r.granted,
            r.consumed,
            r.refunded,
            r.outstanding,
            r.revenue,
            r.refunds,
            r.disputes,
            report.currency,
        )
        for r in report.rows
    ]
