"""Service-level clocks: when a ticket's first reply and its resolution fall due, when each
becomes at risk, and what state a clock is in.

Guarantees:
- due times are computed on the ticket's calendar (its category's, else the default; round the
  clock for a priority that says so, or when no calendar exists) when the ticket is opened and
  when its priority or category changes (a new category counts what each clock has left on its
  calendar); editing a calendar never moves an existing due time;
- "Waiting on customer" pauses the resolution clock, never the first-response clock: the minutes
  it was paused (counted on the same calendar) push the resolution due time back, and so do the
  minutes a resolved ticket stood resolved before it was opened again;
- a clock is at risk from SLA_WARN_AT per cent of its target (the `*_warn_at` instants), so the
  queue reads the state from stored times, with no calendar arithmetic per row.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import bindparam, select

from helpdesk.extensions import db
from helpdesk.querying import transaction_info
from helpdesk.tickets import hours
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    STATUS_CLOSED,
    STATUS_NEW,
    STATUS_OPEN,
    STATUS_RESOLVED,
    STATUS_WAITING,
    BusinessCalendar,
)

ON_TRACK, AT_RISK, BREACHED, MET, LATE = "on_track", "at_risk", "breached", "met", "late"
DONE_STATUSES = (STATUS_RESOLVED, STATUS_CLOSED)


def schedule_of(calendar):
    """The pure Schedule (helpdesk.tickets.hours) of a calendar row; round the clock for None."""
    if calendar is None or calendar.always_open:
        return hours.ALWAYS_OPEN
    try:
        zone = ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return hours.Schedule(
        zone=zone,
        intervals=tuple(hours.Interval(i.weekday, i.start_minute, i.end_minute) for i in calendar.intervals),
        closed=frozenset(c.day for c in calendar.closures),
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
    )


# Process-wide: (calendar id, updated_at) -> the calendar's Schedule. Every save of a calendar sets
# a new updated_at (calendars.save_calendar), so an edit made by any process is a new key.
_SCHEDULES = {}
CALENDARS = select(BusinessCalendar.id, BusinessCalendar.category_id, BusinessCalendar.updated_at).where(
    (BusinessCalendar.category_id == bindparam("category_id")) | BusinessCalendar.category_id.is_(None)
)  # every new ticket asks: built once


def schedule_for(category_id):
    """The Schedule a category's tickets run on: its calendar's, else the default's, else round
    the clock. One narrow query per transaction says which calendar applies and when it was last
    saved; the Schedule itself (intervals, closures, holidays) is built once per process and save."""
    cache = transaction_info().setdefault("calendars", {})  # looked up again by the next transaction
    if category_id not in cache:
        rows = db.session.execute(CALENDARS, {"category_id": category_id}).all()
        row = next((r for r in rows if r.category_id == category_id), None) or next(
            (r for r in rows if r.category_id is None), None
        )
        if row is None:
            cache[category_id] = hours.ALWAYS_OPEN
        else:
            key = (row.id, row.updated_at)
            schedule = _SCHEDULES.get(key)
            if schedule is None:
                if len(_SCHEDULES) > 500:  # saves pile up keys: start afresh now and then
                    _SCHEDULES.clear()
                schedule = _SCHEDULES[key] = schedule_of(db.session.get(BusinessCalendar, row.id))
            cache[category_id] = schedule
    return cache[category_id]


def forget_calendars():
    """Calendars changed in this transaction: look them up again."""
    transaction_info().pop("calendars", None)
    _SCHEDULES.clear()


def clock_for(priority, category_id):
    """The Schedule a priority's targets count on for a category's tickets."""
    if not priority.business_hours:
        return hours.ALWAYS_OPEN
    return schedule_for(category_id)


def warn_minutes(target):
    return target * current_app.config["SLA_WARN_AT"] / 100


def first_response_due(priority, category_id, start):
    """When a ticket opened at `start` must have its first reply (the quote on the submit form)."""
    return hours.add_open_time(clock_for(priority, category_id), start, priority.response_minutes)


def open_clocks(ticket):
    """Set every clock of a ticket from its creation (a new ticket, or a new category)."""
    schedule = clock_for(ticket.priority, ticket.category_id)
    target = ticket.priority.response_minutes
    ticket.due_at = hours.add_open_time(schedule, ticket.created_at, target)
    ticket.response_warn_at = hours.add_open_time(schedule, ticket.created_at, warn_minutes(target))
    _set_resolution(ticket, schedule)


def _set_resolution(ticket, schedule):
    target = ticket.priority.resolution_minutes
    if not target or ticket.resolution_paused_at is not None:
        ticket.resolution_due_at = ticket.resolution_warn_at = None
        return
    paused = ticket.resolution_paused_minutes or 0
    ticket.resolution_due_at = hours.add_open_time(schedule, ticket.created_at, target + paused)
    ticket.resolution_warn_at = hours.add_open_time(
        schedule, ticket.created_at, warn_minutes(target) + paused
    )


def priority_changed(ticket, old_priority, now):
    """A new priority (already set on the ticket) moves both clocks.

    A more urgent one brings each clock forward: its target counted from now (from the pause, for
    a resolution clock that is paused), never later than the clock it replaces, unless that one
    has already run out: a faster response bought or given now is a promise from now, not one
    broken before it was made (a raised two-day-old ticket would otherwise be overdue, and
    refunded, at once). A less urgent one moves each back: the reply-by time to its target from
    creation (never earlier than before), the resolve-by time to its target from where the clock
    started (creation, or the last raise). An answered ticket's reply-by time stays: the answer
    was on time or late against it.
    """
    schedule = clock_for(ticket.priority, ticket.category_id)
    target = ticket.priority.response_minutes
    raised = ticket.priority.sort_order > old_priority.sort_order
    if ticket.first_response_at is not None:
        pass  # answered: the reply-by time it was answered against stays (on time or late, as it was)
    elif raised:
        due = raised_response_due(ticket, ticket.priority, now)
        if due != ticket.due_at:
            ticket.due_at = due
            ticket.response_warn_at = hours.add_open_time(schedule, now, warn_minutes(target))
    else:
        due = hours.add_open_time(schedule, ticket.created_at, target)
        if due > ticket.due_at:
            ticket.due_at = due
            ticket.response_warn_at = hours.add_open_time(schedule, ticket.created_at, warn_minutes(target))
    if raised:
        _restart_resolution(ticket, old_priority, schedule, now)
    _set_resolution(ticket, schedule)


def _open_minutes(schedule, start, end):
    return int(hours.open_time_between(schedule, start, end).total_seconds() // 60)


def _restart_resolution(ticket, old_priority, schedule, now):
    """A raise: the resolution clock keeps what the old one had left if that is less than the
    new target (and more than nothing), else starts the new target now (or at the pause). The
    clock is stored as minutes not counted since creation (`resolution_paused_minutes`), so a
    later pause, resume or category change counts on from the same point."""
    if ticket.priority.resolution_minutes:
        ticket.resolution_paused_minutes = _raised_uncounted(
            ticket, old_priority, ticket.priority, schedule, now
        )


def raised_resolution_due(ticket, priority, now):
    """The resolve-by time `ticket` would have if raised to `priority` now (None: no target, or
    paused while waiting on the customer): what an upgrade's quote promises."""
    if not priority.resolution_minutes or ticket.resolution_paused_at is not None:
        return None
    schedule = clock_for(priority, ticket.category_id)
    uncounted = _raised_uncounted(ticket, ticket.priority, priority, schedule, now)
    return hours.add_open_time(schedule, ticket.created_at, priority.resolution_minutes + uncounted)


def raised_response_due(ticket, priority, now):
    """The reply-by time an unanswered `ticket` would have if raised to `priority` now."""
    due = hours.add_open_time(clock_for(priority, ticket.category_id), now, priority.response_minutes)
    return ticket.due_at if now < ticket.due_at < due else due


def _raised_uncounted(ticket, old_priority, priority, schedule, now):
    """`resolution_paused_minutes` for a raise from `old_priority` to `priority` now."""
    target = priority.resolution_minutes
    start = ticket.resolution_paused_at or now
    used = _open_minutes(schedule, ticket.created_at, start)
    paused = ticket.resolution_paused_minutes or 0
    remaining = target
    if old_priority.resolution_minutes:
        left = old_priority.resolution_minutes + paused - used
        if 0 < left < target:
            remaining = left
    return max(0, used + remaining - target)


def category_changed(ticket, old_category_id, now):
    """Another category may mean another calendar: what each running clock has left, counted on
    the old calendar, is counted on from now on the new one. The time already spent stays spent
    (it ran on the old category's hours), and whatever started a clock, the ticket's creation or a
    raise, keeps its promise: counting again from creation would put a raised ticket's reply-by
    time in the past (overdue, and refunded, the moment it was moved). A clock that has run out,
    or was met (an answered ticket's reply-by time), stays where it is."""
    old = clock_for(ticket.priority, old_category_id)
    new = clock_for(ticket.priority, ticket.category_id)
    if old == new:
        return
    if ticket.first_response_at is None:
        ticket.due_at = _carried(old, new, now, ticket.due_at)
        ticket.response_warn_at = _carried(old, new, now, ticket.response_warn_at)
    target = ticket.priority.resolution_minutes
    if target:  # stored as minutes not counted since creation: the same left over on the new hours
        point = ticket.resolution_paused_at or now
        left = target + (ticket.resolution_paused_minutes or 0) - _open_minutes(old, ticket.created_at, point)
        if left > 0:
            ticket.resolution_paused_minutes = max(
                0, _open_minutes(new, ticket.created_at, point) + left - target
            )
            _set_resolution(ticket, new)


def _carried(old, new, now, moment):
    """`moment` still ahead on the `old` calendar: as far ahead in open time on the `new` one."""
    if moment is None or moment <= now:
        return moment
    return hours.add_open_time(new, now, hours.open_time_between(old, now, moment).total_seconds() / 60)


def status_changed(ticket, old, new, now):
    """Entering "waiting on customer" pauses the resolution clock; leaving it resumes it. A
    resolved (or closed) ticket opened again, by a customer's reply or a reopening, does not count
    the time it stood resolved (`ticket.resolved_at`, still set when this runs): the desk had met
    the promise then, so the reopened ticket has what its clock had left at the resolution, not a
    resolve-by time long past (a "Thanks!" a day later would otherwise be refunded by the sweep)."""
    if old in DONE_STATUSES and new not in DONE_STATUSES and ticket.resolved_at is not None:
        schedule = clock_for(ticket.priority, ticket.category_id)
        ticket.resolution_paused_minutes = (ticket.resolution_paused_minutes or 0) + _open_minutes(
            schedule, ticket.resolved_at, now
        )
        _set_resolution(ticket, schedule)
    if new == STATUS_WAITING and old != STATUS_WAITING:  # with or without a target: a raise may bring one
        ticket.resolution_paused_at = now
        ticket.resolution_due_at = ticket.resolution_warn_at = None
    elif old == STATUS_WAITING and ticket.resolution_paused_at is not None:
        schedule = clock_for(ticket.priority, ticket.category_id)
        paused = hours.open_time_between(schedule, ticket.resolution_paused_at, now)
        ticket.resolution_paused_minutes = (ticket.resolution_paused_minutes or 0) + int(
            paused.total_seconds() // 60
        )
        ticket.resolution_paused_at = None
        _set_resolution(ticket, schedule)


@dataclass(frozen=True)
class Clock:
    """What a ticket's due column shows: which clock ("reply", "resolve", "paused", "answered" or
    None), its due time, its state (on_track, at_risk, breached, met, late) and when it was met."""

    kind: str | None
    due: object = None
    state: str | None = None
    at: object = None

    @property
    def label(self):
        return {
            "reply": "reply due",
            "resolve": "resolve due",
            "paused": "waiting on customer",
            "answered": "answered",
        }.get(self.kind, "")


def _state(now, warn_at, due_at):
    if now >= due_at:
        return BREACHED
    if warn_at is not None and now >= warn_at:
        return AT_RISK
    return ON_TRACK


def clock(ticket, now):
    """The clock a ticket's row shows now (works on a Ticket or on a queue row with its fields)."""
    status, replied = ticket.status, ticket.first_response_at
    if replied is None and status in OPEN_STATUSES:
        return Clock("reply", ticket.due_at, _state(now, ticket.response_warn_at, ticket.due_at))
    if status in (STATUS_NEW, STATUS_OPEN) and ticket.resolution_due_at is not None:
        state = _state(now, ticket.resolution_warn_at, ticket.resolution_due_at)
        return Clock("resolve", ticket.resolution_due_at, state)
    if status == STATUS_WAITING:
        return Clock("paused")
    if replied is not None:
        return Clock("answered", ticket.due_at, MET if replied <= ticket.due_at else LATE, replied)
    return Clock(None)
