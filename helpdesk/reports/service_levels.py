"""Reports on the promise: compliance per priority in business time, what the guarantee paid
back, and how fast paid and free tickets got their first reply.

Due times are stored in business time (tickets/sla.py), so "met" already means "within the
business hours the target counts". Response times are counted on the same clock as the ticket's
targets (its calendar, or round the clock for a 24x7 priority).
"""

from collections import defaultdict

from sqlalchemy import and_, case, exists, func, or_, select

from helpdesk.credits.guarantee import KEYS
from helpdesk.credits.models import KIND_CHARGE, LedgerEntry
from helpdesk.extensions import db
from helpdesk.reports.metrics import Column, Table, in_range, priorities_most_urgent_first, scope
from helpdesk.tickets import hours, sla
from helpdesk.tickets.models import Priority, Ticket

BUCKETS = (
    (15, "≤ 15 min"),
    (60, "≤ 1 h"),
    (240, "≤ 4 h"),
    (480, "≤ 8 h"),
    (1440, "≤ 24 h"),
    (None, "> 24 h"),
)


def _rate(met, missed):
    return round(100 * met / (met + missed), 1) if met + missed else None


def compliance_table(actor, flt, now):
    """Per priority, tickets opened in the range: first-response and resolution targets met or
    missed (in business time); unanswered tickets not yet due are pending and left out."""
    replied = Ticket.first_response_at.is_not(None)
    resolved = Ticket.resolved_at.is_not(None)
    due = Ticket.resolution_due_at
    rows = db.session.execute(
        select(
            Ticket.priority_id,
            func.count(Ticket.id),
            func.sum(case((and_(replied, Ticket.first_response_at <= Ticket.due_at), 1), else_=0)),
            func.sum(
                case(
                    (or_(Ticket.first_response_at > Ticket.due_at, and_(~replied, Ticket.due_at < now)), 1),
                    else_=0,
                )
            ),
            func.sum(case((and_(due.is_not(None), resolved, Ticket.resolved_at <= due), 1), else_=0)),
            func.sum(
                case(
                    (and_(due.is_not(None), or_(Ticket.resolved_at > due, and_(~resolved, due < now))), 1),
                    else_=0,
                )
            ),
        )
        .where(scope(actor, flt), in_range(Ticket.created_at, flt))
        .group_by(Ticket.priority_id)
    )
    counts = {p: [int(v or 0) for v in values] for p, *values in rows}
    table_rows = []
    for p in priorities_most_urgent_first():
        n, met, missed, res_met, res_missed = counts.get(p.id, (0, 0, 0, 0, 0))
        clock = "business hours" if p.business_hours else "round the clock"
        table_rows.append(
            (
                p.name,
                clock,
                n,
                met,
                missed,
                n - met - missed,
                _rate(met, missed),
                res_met,
                res_missed,
                _rate(res_met, res_missed),
            )
        )
    columns = [
        Column("Priority", "text"),
        Column("Clock", "text"),
        Column("Tickets"),
        Column("Response met"),
        Column("Response missed"),
        Column("Pending"),
        Column("Response compliance", "percent"),
        Column("Resolution met"),
        Column("Resolution missed"),
        Column("Resolution compliance", "percent"),
    ]
    return Table("compliance", "Target compliance (business time)", columns, table_rows)


def _month(column):
    """'YYYY-MM' of a timestamp, on SQLite and PostgreSQL alike."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _charged():
    return exists().where(LedgerEntry.ticket_id == Ticket.id, LedgerEntry.kind == KIND_CHARGE)


def payouts_table(actor, flt):
    """Per month of the range: paid tickets opened, refunds the guarantee paid (tickets, credits)
    and the share of paid tickets refunded."""
    guarantee = or_(*(LedgerEntry.idempotency_key.like(key.format("%")) for key in KEYS.values()))
    month = _month(LedgerEntry.created_at)
    refunds = db.session.execute(
        select(month, func.count(func.distinct(LedgerEntry.ticket_id)), func.sum(LedgerEntry.amount))
        .join(Ticket, Ticket.id == LedgerEntry.ticket_id)
        .where(guarantee, scope(actor, flt), in_range(LedgerEntry.created_at, flt))
        .group_by(month)
    )
    refunded = {m: (int(t), int(c or 0)) for m, t, c in refunds}
    opened_month = _month(Ticket.created_at)
    paid = dict(
        db.session.execute(
            select(opened_month, func.count(Ticket.id))
            .where(scope(actor, flt), in_range(Ticket.created_at, flt), _charged())
            .group_by(opened_month)
        ).all()
    )
    rows = []
    for m in sorted(set(refunded) | set(paid)):
        tickets, credits = refunded.get(m, (0, 0))
        share = round(100 * tickets / paid[m], 1) if paid.get(m) else None
        rows.append((m, int(paid.get(m, 0)), tickets, credits, share))
    columns = [
        Column("Month", "text"),
        Column("Paid tickets opened"),
        Column("Tickets refunded"),
        Column("Credits refunded"),
        Column("Share of paid tickets", "percent"),
    ]
    return Table("payouts", "Guarantee payouts", columns, rows)


def distribution_table(actor, flt):
    """How long the first reply took (on each ticket's own clock) for paid and free tickets opened
    in the range: the share in each band, and the tickets still unanswered."""
    rows = db.session.execute(
        select(
            Ticket.category_id, Ticket.priority_id, Ticket.created_at, Ticket.first_response_at, _charged()
        ).where(scope(actor, flt), in_range(Ticket.created_at, flt))
    ).all()
    priorities = {p.id: p for p in db.session.scalars(select(Priority))}
    counts = {True: defaultdict(int), False: defaultdict(int)}
    clocks = {}  # (priority, category) -> its clock: a handful for thousands of tickets
    for category_id, priority_id, created, replied, paid in rows:
        if replied is None:
            counts[bool(paid)]["unanswered"] += 1
            continue
        clock = clocks.get((priority_id, category_id))
        if clock is None:
            clock = clocks[priority_id, category_id] = sla.clock_for(priorities[priority_id], category_id)
        minutes = hours.open_time_between(clock, created, replied).total_seconds() / 60
        band = next(label for limit, label in BUCKETS if limit is None or minutes <= limit)
        counts[bool(paid)][band] += 1
    table_rows = []
    for _limit, label in (*BUCKETS, (None, "unanswered")):
        row = [label]
        for paid in (True, False):
            total = sum(counts[paid].values())
            n = counts[paid][label]
            row += [n, round(100 * n / total, 1) if total else None]
        table_rows.append(tuple(row))
    columns = [
        Column("First reply within", "text"),
        Column("Paid tickets"),
        Column("Paid share", "percent"),
        Column("Free tickets"),
        Column("Free share", "percent"),
    ]
    return Table(
        "distribution", "First-response time, paid against free (business time)", columns, table_rows
    )
