"""Known tickets for the report tests, with the figures they must produce (days are UTC)."""

from datetime import UTC, date, datetime, timedelta

from tests import factories

START, END = date(2026, 11, 2), date(2026, 11, 8)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # everything in the range is past due


def _ticket(category, priority, created, *, first=None, resolved=None, status="open"):
    return factories.ticket(
        category=category,
        priority=priority,
        created_at=created,
        updated_at=created,
        due_at=created + timedelta(minutes=priority.response_minutes),
        first_response_at=None if first is None else created + timedelta(minutes=first),
        resolved_at=None if resolved is None else created + timedelta(minutes=resolved),
        status="resolved" if resolved is not None else status,
    )


def build(ref):
    """IT: ten High tickets on 3 Nov answered after 10..100 min (median 55, p90 91), four resolved
    after 60, 120, 180, 600 min (median 150, p90 474); four Urgent tickets on 4 Nov answered after
    30, 60 (met: on the due minute), 90 (missed) and never (missed: past due). Sales: one Normal
    ticket on 5 Nov resolved after a day. Outside the range: one IT ticket on 20 Oct."""
    it, sales = ref.categories["IT"], ref.categories["Sales"]
    high, urgent, normal = ref.priorities["High"], ref.priorities["Urgent"], ref.priorities["Normal"]
    day3 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    resolutions = {0: 60, 1: 120, 2: 180, 3: 600}
    for i in range(10):
        _ticket(it, high, day3 + timedelta(seconds=i), first=10 * (i + 1), resolved=resolutions.get(i))
    day4 = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
    for first in (30, 60, 90, None):
        _ticket(it, urgent, day4, first=first, status="new" if first is None else "waiting")
    _ticket(sales, normal, datetime(2026, 11, 5, 8, 0, tzinfo=UTC), first=5, resolved=1440)
    _ticket(it, high, datetime(2026, 10, 20, 8, 0, tzinfo=UTC), first=1000)
