"""Agent reports: volumes per day, category and priority; response and resolution times;
response-target compliance; backlog. Counts are SQL aggregates (the same on SQLite and
PostgreSQL); percentiles are computed in Python over the durations of the filtered tickets.

Every figure covers only the tickets the actor may see (policy.ticket_visibility), so a
technician's report is limited to their categories. Days are UTC calendar days.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.querying import indexed_by
from helpdesk.tickets.models import OPEN_STATUSES, STATUS_LABELS, Category, Priority, Ticket

MAX_DAYS = 366


@dataclass(frozen=True)
class ReportFilter:
    """An inclusive range of UTC days, optionally one category."""

    start: date
    end: date
    category_id: int | None = None

    @property
    def start_at(self):
        return datetime.combine(self.start, time(), UTC)

    @property
    def end_before(self):
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def days(self):
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "int"  # text, date, int, minutes, percent

    @property
    def cell_class(self):
        """The class of the column's cells: "text" and "date" as they are, every number "num"
        (right-aligned; app.css keeps a text column from being squeezed)."""
        return self.kind if self.kind in ("text", "date") else "num"


@dataclass
class Table:
    """One report table: shown as HTML and downloadable as CSV (raw numbers, minutes as decimals)."""

    name: str
    title: str
    columns: list
    rows: list = field(default_factory=list)
    note: str = ""  # a line under the title (the knowledge-base report's search totals)
    # The row that sums up the others: under them on the page (in <tfoot>, so a page that shows
    # only the first rows still shows it), last in the CSV.
    total: list | None = None

    def csv_header(self):
        """Column labels for the CSV, naming the unit where the values are minutes or percentages."""
        suffixes = {"minutes": " (minutes)", "percent": " (%)"}
        return [c.label + suffixes.get(c.kind, "") for c in self.columns]

    def csv_rows(self):
        """Every row of the CSV: the rows, then the total if there is one."""
        return self.rows if self.total is None else [*self.rows, self.total]


@dataclass
class Report:
    filter: ReportFilter
    tables: dict  # name -> Table, in display order
    totals: dict


def default_filter(today=None):
    """The last 30 UTC days, today included, all categories."""
    today = today or utcnow().date()
    return ReportFilter(start=today - timedelta(days=29), end=today)


def percentile(values, fraction):
    """The `fraction` quantile (0..1) by linear interpolation between closest ranks (as numpy's
    default and statistics.median do); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _minutes(value):
    return None if value is None else round(value, 1)


def scope(actor, flt):
    """Tickets the actor may see, in the chosen category."""
    condition = policy.ticket_visibility(actor)
    if flt.category_id is not None:
        condition = and_(condition, Ticket.category_id == flt.category_id)
    return condition


def in_range(column, flt):
    return and_(column >= flt.start_at, column < flt.end_before)


def _day(value):
    """func.date() gives a string on SQLite and a date on PostgreSQL."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _per_day(actor, flt, column):
    day = func.date(column)
    rows = db.session.execute(
        select(day, func.count(Ticket.id)).where(scope(actor, flt), in_range(column, flt)).group_by(day)
    )
    return {_day(d): n for d, n in rows}


def daily_table(actor, flt):
    """Tickets opened and resolved on each day of the range (days without tickets show 0)."""
    opened = _per_day(actor, flt, Ticket.created_at)
    resolved = _per_day(actor, flt, Ticket.resolved_at)
    rows = [(d, opened.get(d, 0), resolved.get(d, 0)) for d in flt.days()]
    columns = [Column("Day", "date"), Column("Opened"), Column("Resolved")]
    return Table("daily", "Opened and resolved per day", columns, rows)


def _volume_by(actor, flt, key):
    """{key: (opened, resolved)} in the range. Two grouped counts, one per date: each reads its
    own index's range (ix_tickets_created, ix_tickets_resolved), where one count over "opened or
    resolved in the range" was read by PostgreSQL from the whole table (67 ms against 13 + 3 on
    the bench desk)."""
    counts = {}
    dates = ((Ticket.created_at, "ix_tickets_created"), (Ticket.resolved_at, "ix_tickets_resolved"))
    for position, (column, index) in enumerate(dates):
        # Named on SQLite: grouped by category, it walked ix_tickets_category_status (no sort) and
        # read every ticket of the agent's categories to test the date (59 ms against 14).
        counted = select(key, func.count()).where(scope(actor, flt), in_range(column, flt)).group_by(key)
        rows = db.session.execute(indexed_by(counted, Ticket, index))
        for k, n in rows:
            counts.setdefault(k, [0, 0])[position] = n
    return {k: tuple(v) for k, v in counts.items()}


def report_categories(actor, category_id=None):
    """The categories the actor may report on (through policy), or just `category_id` among them."""
    categories = db.session.scalars(select(Category).order_by(func.lower(Category.name))).all()
    return [
        c for c in categories if policy.can_report_on_category(actor, c.id) and category_id in (None, c.id)
    ]


def priorities_most_urgent_first():
    return db.session.scalars(select(Priority).order_by(Priority.sort_order.desc())).all()


def category_table(actor, flt):
    """Tickets opened and resolved in the range, per category the actor may see."""
    counts = _volume_by(actor, flt, Ticket.category_id)
    rows = [(c.name, *counts.get(c.id, (0, 0))) for c in report_categories(actor, flt.category_id)]
    return Table(
        "categories", "By category", [Column("Category", "text"), Column("Opened"), Column("Resolved")], rows
    )


def priority_table(actor, flt):
    """Tickets opened and resolved in the range, per priority (most urgent first)."""
    counts = _volume_by(actor, flt, Ticket.priority_id)
    rows = [(p.name, *counts.get(p.id, (0, 0))) for p in priorities_most_urgent_first()]
    return Table(
        "priorities", "By priority", [Column("Priority", "text"), Column("Opened"), Column("Resolved")], rows
    )


def _durations(actor, flt):
    """(priority_id, first-response minutes or None, resolution minutes or None) per ticket opened in range."""
    rows = db.session.execute(
        select(Ticket.priority_id, Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at).where(
            scope(actor, flt), in_range(Ticket.created_at, flt)
        )
    )
    result = []
    for priority_id, created, responded, resolved in rows:
        first = (responded - created).total_seconds() / 60 if responded else None
        resolution = (resolved - created).total_seconds() / 60 if resolved else None
        result.append((priority_id, first, resolution))
    return result


def _times_row(label, items):
    first = [f for _, f, _ in items if f is not None]
    resolution = [r for _, _, r in items if r is not None]
    return (
        label,
        len(first),
        _minutes(percentile(first, 0.5)),
        _minutes(percentile(first, 0.9)),
        len(resolution),
        _minutes(percentile(resolution, 0.5)),
        _minutes(percentile(resolution, 0.9)),
    )


def times_table(actor, flt):
    """First response and resolution times of the tickets opened in the range: median and 90th
    percentile, per priority and overall, in minutes."""
    items = _durations(actor, flt)
    rows = [_times_row(p.name, [i for i in items if i[0] == p.id]) for p in priorities_most_urgent_first()]
    rows.append(_times_row("All priorities", items))
    columns = [
        Column("Priority", "text"),
        Column("Answered"),
        Column("Median first response", "minutes"),
        Column("90th percentile first response", "minutes"),
        Column("Resolved"),
        Column("Median resolution", "minutes"),
        Column("90th percentile resolution", "minutes"),
    ]
    return Table("times", "Response and resolution times (tickets opened in the period)", columns, rows)


def backlog_table(actor, flt, now=None):
    """Unresolved tickets now (whatever their age), per status, with how many are past their
    response target without an answer. Only the category filter applies."""
    now = now or utcnow()
    overdue = func.sum(case((and_(Ticket.first_response_at.is_(None), Ticket.due_at < now), 1), else_=0))
    rows = db.session.execute(
        select(Ticket.status, func.count(Ticket.id), overdue)
        .where(scope(actor, flt), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.status)
    )
    counts = {s: (n, int(o or 0)) for s, n, o in rows}
    table_rows = [(STATUS_LABELS[s], *counts.get(s, (0, 0))) for s in OPEN_STATUSES]
    columns = [Column("Status", "text"), Column("Tickets"), Column("Unanswered past target")]
    return Table("backlog", "Backlog by status (now)", columns, table_rows)
