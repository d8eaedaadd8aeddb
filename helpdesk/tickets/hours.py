"""Business-time arithmetic: when a target of N open minutes, started at some instant, falls due.

Pure functions on a `Schedule` (no database): a time zone, open intervals per weekday (an
interval may run past midnight: an overnight shift belongs to the day it starts on), dates on
which the desk is closed (named closures and, optionally, a country's public holidays through
the `holidays` package). Every instant in and out is an aware UTC datetime; local wall times are
turned into real instants with the zone's rules, so a clock that runs across a daylight-saving
change counts the real minutes that passed (a 22:00-06:00 shift is 7 h on the night the clocks
go forward and 9 h on the night they go back).

Guarantees: `add_open_time(s, start, m) >= start`; it never decreases when `start` grows; and
`open_time_between(s, start, add_open_time(s, start, m)) == m minutes`.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HORIZON_DAYS = 3 * 366  # never look further for open time (a schedule closed that long counts 24x7)


@dataclass(frozen=True)
class Interval:
    """Open from `start` to `end` (minutes after local midnight) on `weekday` (0 = Monday).

    `end <= start` means the interval runs past midnight and ends at `end` the next day.
    """

    weekday: int
    start: int
    end: int

    @property
    def minutes(self):
        return (self.end - self.start) % MINUTES_PER_DAY or MINUTES_PER_DAY

    def label(self):
        return f"{WEEKDAYS[self.weekday]} {clock(self.start)}–{clock(self.end)}"


@dataclass(frozen=True)
class Schedule:
    """When a desk is open. `always_open` schedules (24x7) ignore everything else."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    intervals: tuple = ()
    closed: frozenset = frozenset()
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    always_open: bool = False

    def is_closed(self, day):
        if day in self.closed:
            return True
        return self.holiday_country is not None and day in _holidays(
            self.holiday_country, self.holiday_subdivision, day.year
        )


ALWAYS_OPEN = Schedule(always_open=True)


def clock(minute):
    """'09:30' for 570; 1440 (the end of a day) reads '24:00'."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@lru_cache(maxsize=256)
def _holidays(country, subdivision, year):
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def holiday_names(country, subdivision, year):
    """{date: name} of a country's public holidays in `year` (for the admin page)."""
    import holidays

    return dict(sorted(holidays.country_holidays(country, subdiv=subdivision, years=year).items()))


def _local(day, minute, zone):
    """The real instant of a local wall time `minute` minutes after midnight of `day` (a time that
    DST skips maps just past the gap; a time it repeats, to its first occurrence)."""
    naive = datetime.combine(day, time(0)) + timedelta(minutes=minute)
    return naive.replace(tzinfo=zone).astimezone(UTC)


def open_periods(schedule, start):
    """Yield (from, to) UTC instants the schedule is open, in order, from `start` onwards."""
    if schedule.always_open:
        yield start, start + timedelta(days=HORIZON_DAYS)
        return
    by_day = {}
    for interval in schedule.intervals:
        by_day.setdefault(interval.weekday, []).append(interval)
    for intervals in by_day.values():
        intervals.sort(key=lambda i: i.start)
    first = start.astimezone(schedule.zone).date() - timedelta(days=1)  # last night's shift may still run
    for offset in range(HORIZON_DAYS):
        day = first + timedelta(days=offset)
        if schedule.is_closed(day):
            continue
        for interval in by_day.get(day.weekday(), ()):
            opens = _local(day, interval.start, schedule.zone)
            closes = _local(day, interval.start + interval.minutes, schedule.zone)
            if closes <= start or closes <= opens:
                continue
            yield max(opens, start), closes


def add_open_time(schedule, start, minutes):
    """The instant at which `minutes` of open time have passed since `start` (UTC in and out)."""
    remaining = timedelta(minutes=minutes)
    if remaining <= timedelta(0):
        return start
    for opens, closes in open_periods(schedule, start):
        span = closes - opens
        if remaining <= span:
            return opens + remaining
        remaining -= span
    return start + timedelta(minutes=minutes)  # no open time within the horizon: count round the clock


def open_time_between(schedule, start, end):
    """Open time between two instants (zero if `end` is not after `start`)."""
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in open_periods(schedule, start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def overlaps(intervals):
    """Pairs of intervals that overlap anywhere in the week (an overnight shift included), as text."""
    week = 7 * MINUTES_PER_DAY
    spans = []
    for interval in intervals:
        begin = interval.weekday * MINUTES_PER_DAY + interval.start
        spans.append((interval, begin, begin + interval.minutes))
    found = []
    for i, (a, a_start, a_end) in enumerate(spans):
        for b, b_start, b_end in spans[i + 1 :]:
            for shift in (-week, 0, week):  # Sunday night's shift runs into Monday morning
                if a_start < b_end + shift and b_start + shift < a_end:
                    found.append(f"{a.label()} overlaps {b.label()}")
                    break
    return found
