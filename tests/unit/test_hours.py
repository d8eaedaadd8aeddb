"""Business-time arithmetic: examples a desk would check by hand, then properties over any schedule."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.tickets.hours import (
    ALWAYS_OPEN,
    Interval,
    Schedule,
    add_open_time,
    open_time_between,
    overlaps,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = tuple(Interval(day, 9 * 60, 17 * 60) for day in range(5))  # Mon-Fri 09:00-17:00


def local(zone, *parts):
    return datetime(*parts, tzinfo=zone).astimezone(UTC)


def test_a_saturday_night_urgent_ticket_is_due_an_hour_after_monday_opens():
    office = Schedule(zone=BERLIN, intervals=OFFICE)
    due = add_open_time(office, local(BERLIN, 2026, 12, 5, 3, 0), 60)
    assert due == local(BERLIN, 2026, 12, 7, 10, 0)


def test_a_friday_evening_submission_uses_friday_s_last_half_hour_then_monday():
    office = Schedule(zone=BERLIN, intervals=OFFICE)
    assert add_open_time(office, local(BERLIN, 2026, 12, 4, 16, 30), 60) == local(BERLIN, 2026, 12, 7, 9, 30)


def test_public_holidays_and_named_closures_are_skipped():
    office = Schedule(
        zone=BERLIN, intervals=OFFICE, holiday_country="DE", closed=frozenset({date(2026, 12, 28)})
    )
    # Thu 24 Dec 16:30 + 1 h: Fri 25 and Sat 26 are holidays/weekend, Mon 28 is closed: Tue 29 09:30.
    assert add_open_time(office, local(BERLIN, 2026, 12, 24, 16, 30), 60) == local(
        BERLIN, 2026, 12, 29, 9, 30
    )


def test_an_overnight_shift_counts_the_real_hours_across_daylight_saving_changes():
    nights = Schedule(zone=BERLIN, intervals=(Interval(5, 22 * 60, 6 * 60),))  # Saturday 22:00-06:00
    spring = local(BERLIN, 2026, 3, 28, 22, 0)  # clocks go forward at 02:00 that night
    autumn = local(BERLIN, 2026, 10, 24, 22, 0)  # and back at 03:00
    assert open_time_between(nights, spring, spring + timedelta(hours=12)) == timedelta(hours=7)
    assert open_time_between(nights, autumn, autumn + timedelta(hours=12)) == timedelta(hours=9)


def test_a_new_york_business_day_keeps_its_local_hours_over_the_november_change():
    office = Schedule(zone=NEW_YORK, intervals=OFFICE)
    friday = local(NEW_YORK, 2026, 10, 30, 16, 0)  # EDT; Monday 2 Nov is EST
    assert add_open_time(office, friday, 120) == local(NEW_YORK, 2026, 11, 2, 10, 0)


def test_an_overnight_shift_that_started_yesterday_is_still_open_after_midnight():
    nights = Schedule(zone=BERLIN, intervals=(Interval(0, 22 * 60, 6 * 60),))  # Monday 22:00-06:00
    assert add_open_time(nights, local(BERLIN, 2026, 12, 8, 1, 0), 60) == local(BERLIN, 2026, 12, 8, 2, 0)


def test_a_round_the_clock_target_ignores_the_calendar():
    assert add_open_time(ALWAYS_OPEN, local(BERLIN, 2026, 12, 5, 3, 0), 60) == local(
        BERLIN, 2026, 12, 5, 4, 0
    )


def test_overlapping_intervals_are_named_even_across_the_week_s_end():
    assert overlaps((Interval(0, 540, 720), Interval(0, 700, 800))) == [
        "Monday 09:00–12:00 overlaps Monday 11:40–13:20"
    ]
    assert overlaps((Interval(6, 22 * 60, 6 * 60), Interval(0, 5 * 60, 10 * 60))) == [
        "Sunday 22:00–06:00 overlaps Monday 05:00–10:00"
    ]
    assert overlaps(OFFICE) == []


# --- properties ---------------------------------------------------------------------------


@st.composite
def schedules(draw):
    """A valid schedule: a zone with DST, 1-6 non-overlapping intervals, maybe holidays and closures."""
    zone = draw(st.sampled_from([BERLIN, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Australia/Sydney")]))
    intervals = []
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 1439))
        length = draw(
            st.integers(60, 14 * 60)
        )  # at least an hour a week: a target always falls within the horizon
        candidate = Interval(draw(st.integers(0, 6)), start, (start + length) % 1440)
        if not overlaps((*intervals, candidate)):
            intervals.append(candidate)
    closed = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20))
    country = draw(st.sampled_from([None, "DE", "US"]))
    return Schedule(zone=zone, intervals=tuple(intervals), closed=closed, holiday_country=country)


instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.just(UTC))
targets = st.integers(1, 5 * 24 * 60)


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, targets)
def test_the_due_time_is_never_before_the_start_and_holds_exactly_the_target(schedule, start, minutes):
    due = add_open_time(schedule, start, minutes)
    assert due >= start + timedelta(minutes=0)
    assert open_time_between(schedule, start, due) == timedelta(minutes=minutes)


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, st.integers(0, 3 * 24 * 60), targets)
def test_a_later_submission_is_never_due_earlier(schedule, start, later_by, minutes):
    later = start + timedelta(minutes=later_by)
    assert add_open_time(schedule, later, minutes) >= add_open_time(schedule, start, minutes)


@settings(max_examples=100, deadline=None)
@given(instants, targets)
def test_round_the_clock_is_plain_addition(start, minutes):
    assert add_open_time(ALWAYS_OPEN, start, minutes) == start + timedelta(minutes=minutes)
