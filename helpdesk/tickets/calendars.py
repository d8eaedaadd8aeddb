"""Business calendars: the desk's default hours and a category's own, edited by admins.

Guarantees: a calendar is saved whole or not at all; bad input (an unknown time zone, a time that
is not a time, overlapping intervals, a calendar with no open hours, an unknown country) raises
CalendarInvalid naming each field, and nothing is written. Saving a calendar never moves the due
times of existing tickets (they were computed when the tickets were opened); new tickets use it.
A save from a form opened before someone else saved the same calendar raises CalendarStale.
"""

import re
from datetime import date

from sqlalchemy import select

from helpdesk import staleness
from helpdesk.accounts.auth import known_timezones
from helpdesk.dbtypes import utcnow
from helpdesk.errors import StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import lock_row
from helpdesk.tickets import hours, sla
from helpdesk.tickets.models import BusinessCalendar, CalendarClosure, CalendarInterval, Category

_SPAN = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*[-–]\s*(\d{1,2})(?::(\d{2}))?\s*$")
MAX_CLOSURES = 400


class CalendarInvalid(ValidationFailed):
    """The calendar was not saved; `errors` maps each form field to its message."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("The business hours were not saved: " + " ".join(errors.values()))


def holiday_countries():
    """[(code, name)] of the countries whose public holidays the `holidays` package knows."""
    import holidays

    names = {}
    try:
        from holidays.registry import COUNTRIES

        for key, entry in COUNTRIES.items():
            names[entry[1]] = key.replace("_", " ").title()
    except (ImportError, AttributeError, IndexError):  # the registry is not public API: codes suffice
        pass
    codes = [code for code in holidays.list_supported_countries() if len(code) == 2]
    return sorted(((code, names.get(code, code)) for code in codes), key=lambda item: item[1])


def subdivisions(country):
    import holidays

    return holidays.list_supported_countries().get(country, [])


def _minute(hour, minute, *, end):
    hour, minute = int(hour), int(minute or 0)
    if minute > 59 or hour > 24 or (hour == 24 and (minute or not end)):
        return None
    return hour * 60 + minute


def parse_day(weekday, text):
    """'09:00-12:00, 13:00-17:30' (or '22:00-06:00' for a shift past midnight) as Intervals."""
    intervals = []
    for part in (p for p in (text or "").split(",") if p.strip()):
        match = _SPAN.match(part)
        start = _minute(match[1], match[2], end=False) if match else None
        end = _minute(match[3], match[4], end=True) if match else None
        if start is None or end is None:
            raise ValueError(f"“{part.strip()}” is not a time span like 09:00-17:00.")
        if start == end:
            raise ValueError(f"“{part.strip()}” opens and closes at the same time.")
        if end < start and not (match[2] and match[4]):
            # '9-5' reads as nine to five, which the 24-hour clock would take for a night shift.
            raise ValueError(
                f"“{part.strip()}” would run past midnight, from {hours.clock(start)} to {hours.clock(end)}: "
                f"write hours on the 24-hour clock (09:00-17:00), and a night shift with its "
                f"minutes (22:00-06:00)."
            )
        intervals.append(hours.Interval(weekday, start, end))
    return intervals


def parse_closures(text):
    """Lines of 'YYYY-MM-DD Name' as [(date, name)]."""
    found = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        day, _, name = line.partition(" ")
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"Line {number}: “{day}” is not a date like 2026-12-24.") from None
        found[parsed] = (name.strip() or "Closed")[:100]
    if len(found) > MAX_CLOSURES:
        raise ValueError(f"At most {MAX_CLOSURES} closed dates.")
    return sorted(found.items())


def calendar_of(category_id=None):
    """The calendar row of a category (None: the default), or None if it has none."""
    condition = (
        BusinessCalendar.category_id.is_(None)
        if category_id is None
        else BusinessCalendar.category_id == category_id
    )
    return db.session.scalar(select(BusinessCalendar).where(condition))


def overview():
    """[(category or None, its own calendar or None)]: the default first, then every category."""
    calendars = {c.category_id: c for c in db.session.scalars(select(BusinessCalendar))}
    rows = [(None, calendars.get(None))]
    categories = db.session.scalars(select(Category).order_by(Category.name)).all()
    return rows + [(c, calendars.get(c.id)) for c in categories]


class CalendarStale(StaleUpdate):
    """The calendar was saved (or added, or removed) by someone else after the form was opened;
    nothing was saved. `calendar` is the current one (None: none now)."""

    def __init__(self, calendar):
        self.calendar = calendar
        super().__init__("These business hours were changed after you opened the form: nothing was saved.")


def version_of(calendar):
    """What a form carries of the calendar it shows: its last save's time ("none": no calendar)."""
    return staleness.time_version(calendar.updated_at if calendar is not None else None)


def save_calendar(
    actor, category_id, *, timezone, always_open, days, closures, country, subdivision, seen=None
):
    """Replace the calendar of `category_id` (None: the default) with these settings.

    `days` maps weekday (0 = Monday) to text like '09:00-17:00'. Raises CalendarInvalid.
    `seen`: version_of the calendar the form showed; CalendarStale when it is not the current one
    (None: not checked). The row is locked until commit (SQLite: writers take turns).
    """
    current = calendar_of(category_id)
    if current is not None:
        lock_row(current)
    if seen is not None and seen != version_of(current):
        raise CalendarStale(current)
    errors, intervals = {}, []
    if timezone not in known_timezones():
        errors["timezone"] = f"“{timezone}” is not a time zone (choose one like Europe/Berlin)."
    for weekday in range(7):
        try:
            intervals += parse_day(weekday, days.get(weekday, ""))
        except ValueError as exc:
            errors[f"day{weekday}"] = f"{hours.WEEKDAYS[weekday]}: {exc}"
    if not errors and not always_open:
        if not intervals:
            errors["hours"] = "Give at least one open interval, or choose “open round the clock”."
        clashes = hours.overlaps(intervals)
        if clashes:
            errors["hours"] = "Intervals overlap: " + "; ".join(clashes) + "."
    try:
        closed = parse_closures(closures)
    except ValueError as exc:
        errors["closures"] = str(exc)
    country = (country or "").strip().upper() or None
    subdivision = (subdivision or "").strip().upper() or None
    if country and country not in dict(holiday_countries()):
        errors["country"] = f"No public holidays are known for “{country}”."
    elif subdivision and (not country or subdivision not in subdivisions(country)):
        errors["subdivision"] = f"“{subdivision}” is not a region of {country or 'the chosen country'}."
    if category_id is not None and db.session.get(Category, category_id) is None:
        errors["category"] = "That category does not exist."
    if errors:
        raise CalendarInvalid(errors)
    calendar = calendar_of(category_id) or BusinessCalendar(category_id=category_id)
    calendar.timezone, calendar.always_open = timezone, bool(always_open)
    calendar.holiday_country, calendar.holiday_subdivision = country, subdivision if country else None
    calendar.intervals = [
        CalendarInterval(weekday=i.weekday, start_minute=i.start, end_minute=i.end) for i in intervals
    ]
    # A date kept from the last save keeps its row (only its name may change): a new row for the
    # same date would be inserted before the old one is deleted, against (calendar_id, day).
    kept = {closure.day: closure for closure in calendar.closures}
    closures_now = []
    for day, name in closed:
        closure = kept.get(day) or CalendarClosure(day=day)
        closure.name = name
        closures_now.append(closure)
    calendar.closures = closures_now
    calendar.updated_at, calendar.updated_by_id = utcnow(), actor.id if actor else None
    db.session.add(calendar)
    db.session.flush()
    sla.forget_calendars()
    return calendar


def remove_category_calendar(category_id):
    """A category goes back to the default calendar (the default itself cannot be removed)."""
    calendar = calendar_of(category_id) if category_id is not None else None
    if calendar is None:
        return False
    db.session.delete(calendar)
    db.session.flush()
    sla.forget_calendars()
    return True


def day_text(calendar, weekday):
    """The form's text for one weekday of a calendar: '09:00-12:00, 13:00-17:00'."""
    if calendar is None:
        return ""
    return ", ".join(
        f"{hours.clock(i.start_minute)}-{hours.clock(i.end_minute)}"
        for i in calendar.intervals
        if i.weekday == weekday
    )


def closures_text(calendar):
    if calendar is None:
        return ""
    return "\n".join(f"{c.day.isoformat()} {c.name}" for c in calendar.closures)
