"""Business hours: the admin page, and due times computed on the ticket's calendar."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from helpdesk.extensions import db
from helpdesk.tickets import calendars, lifecycle
from helpdesk.tickets.models import BusinessCalendar, CalendarClosure, Ticket

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {
    "timezone": "Europe/Berlin",
    "day0": "09:00-17:00",
    "day1": "09:00-17:00",
    "day2": "09:00-17:00",
    "day3": "09:00-17:00",
    "day4": "09:00-17:00",
    "closures": "2026-12-28 Team day",
    "country": "DE",
}
SATURDAY_NIGHT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # Sat 04:00 in Berlin


@pytest.fixture
def admin(make, login):
    user = make.admin()
    login(user)
    return user


def _open(make, ref, category="IT", priority="Urgent"):
    customer = make.customer()
    ticket, _ = lifecycle.create_ticket(
        customer,
        subject="VPN down",
        body="Since this morning.",
        category_id=ref.categories[category].id,
        priority_id=ref.priorities[priority].id,
    )
    db.session.commit()
    return ticket


def _local(moment):
    return moment.astimezone(BERLIN).replace(tzinfo=None)


def test_the_admin_saves_the_default_hours_and_new_tickets_count_them(client, admin, make, ref):
    before = _open(make, ref)  # round the clock until hours are set
    response = client.post("/admin/business-hours", data=OFFICE)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The default business hours saved." in page
    assert 'value="09:00-17:00"' in page and "2026-12-28 Team day" in page
    assert "Zweiter Weihnachtstag" in page or "Second Day of Christmas" in page  # the holidays listed
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        after = _open(make, ref)
    assert _local(after.due_at) == datetime(2026, 12, 7, 10, 0)  # Monday, an hour after opening
    db.session.expire_all()
    assert db.session.get(Ticket, before.id).due_at == before.due_at  # existing tickets keep theirs


def test_a_category_may_run_round_the_clock_while_the_default_keeps_office_hours(client, admin, make, ref):
    client.post("/admin/business-hours", data=OFFICE)
    it = ref.categories["IT"].id
    response = client.post(
        "/admin/business-hours", data={"category": it, "timezone": "UTC", "always_open": "y"}
    )
    assert response.status_code == 302
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        it_ticket = _open(make, ref, "IT")
        sales_ticket = _open(make, ref, "Sales")
    assert it_ticket.due_at == datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    assert _local(sales_ticket.due_at) == datetime(2026, 12, 7, 10, 0)
    page = client.get("/admin/business-hours").get_data(as_text=True)
    assert "own hours" in page and "uses the default" in page


def test_a_round_the_clock_priority_ignores_office_hours(client, admin, make, ref):
    client.post("/admin/business-hours", data=OFFICE)
    ref.priorities["Urgent"].business_hours = False
    db.session.commit()
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        ticket = _open(make, ref)
    assert ticket.due_at == datetime(2026, 12, 5, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a time zone"),
        (
            {"day1": "09:00-12:00, 11:00-13:00"},
            "hours",
            "Intervals overlap: Tuesday 09:00–12:00 overlaps Tuesday 11:00–13:00",
        ),
        (
            {"day6": "22:00-06:00", "day0": "05:00-10:00"},
            "hours",
            "Monday 05:00–10:00 overlaps Sunday 22:00–06:00",
        ),
        ({"day2": "9 to 5"}, "day2", "Wednesday: “9 to 5” is not a time span like 09:00-17:00."),
        ({"day3": "25:00-26:00"}, "day3", "is not a time span"),
        (
            {"day3": "9-5"},
            "day3",
            "Thursday: “9-5” would run past midnight, from 09:00 to 05:00: write hours on the "
            "24-hour clock (09:00-17:00), and a night shift with its minutes (22:00-06:00).",
        ),
        (
            {"closures": "24.12.2026 Christmas"},
            "closures",
            "Line 1: “24.12.2026” is not a date like 2026-12-24.",
        ),
        ({"country": "XX"}, "country", "No public holidays are known for “XX”."),
        ({f"day{d}": "" for d in range(7)}, "hours", "Give at least one open interval"),
    ],
)
def test_bad_input_gets_a_message_and_saves_nothing(client, admin, change, field, message):
    response = client.post("/admin/business-hours", data={**OFFICE, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert 'value="Mars/Olympus"' not in page or field == "timezone"
    assert db.session.scalar(db.select(db.func.count(CalendarClosure.id))) == 0
    assert db.session.scalar(db.select(db.func.count(BusinessCalendar.id))) == 0


def test_what_was_typed_is_kept_when_the_form_is_refused(client, admin):
    data = {**OFFICE, "day1": "09:00-12:00, 11:00-13:00"}
    page = client.post("/admin/business-hours", data=data).get_data(as_text=True)
    assert 'value="09:00-12:00, 11:00-13:00"' in page and "2026-12-28 Team day" in page


def test_an_overnight_shift_is_accepted_and_shown_as_typed(client, admin):
    data = {**OFFICE, "day4": "09:00-17:00, 22:00-06:00"}
    assert client.post("/admin/business-hours", data=data).status_code == 302
    page = client.get("/admin/business-hours").get_data(as_text=True)
    assert 'value="09:00-17:00, 22:00-06:00"' in page


def test_saving_again_keeps_the_closed_dates_and_may_rename_them(client, admin):
    assert client.post("/admin/business-hours", data=OFFICE).status_code == 302
    assert client.post("/admin/business-hours", data=OFFICE).status_code == 302  # unchanged
    renamed = {**OFFICE, "closures": "2026-12-28 Inventory\n2026-12-31 New Year's Eve"}
    assert client.post("/admin/business-hours", data=renamed).status_code == 302
    page = client.get("/admin/business-hours").get_data(as_text=True)
    assert "2026-12-28 Inventory" in page and "Team day" not in page
    assert db.session.scalar(db.select(db.func.count(CalendarClosure.id))) == 2


def test_a_category_goes_back_to_the_default(client, admin, ref):
    it = ref.categories["IT"].id
    client.post("/admin/business-hours", data={"category": it, "timezone": "UTC", "always_open": "y"})
    response = client.post("/admin/business-hours/remove", data={"category": it})
    assert response.status_code == 302
    assert calendars.calendar_of(it) is None


def test_an_unknown_category_is_404(client, admin):
    assert client.get("/admin/business-hours?category=99999").status_code == 404


@pytest.mark.parametrize("raw", ["²", "١", "-1", "99999999999", "1.5"])
def test_a_category_that_is_no_number_is_404_on_every_form(client, admin, raw):
    """'²' and '١' are digits to str.isdigit() but no number to int(): they answered 500."""
    assert client.get("/admin/business-hours", query_string={"category": raw}).status_code == 404
    assert client.post("/admin/business-hours", data={"category": raw, **OFFICE}).status_code == 404
    assert client.post("/admin/business-hours/remove", data={"category": raw}).status_code == 404
    assert client.post("/admin/business-hours", data={**OFFICE, "category": "99999"}).status_code == 404


def test_the_submit_form_quotes_the_reply_by_time_on_the_chosen_category_s_calendar(
    client, admin, make, ref, login
):
    from tests.credit_helpers import bank

    client.post("/admin/business-hours", data=OFFICE)
    client.post(
        "/admin/business-hours",
        data={"category": ref.categories["IT"].id, "timezone": "UTC", "always_open": "y"},
    )
    alice = make.customer(timezone="Europe/Berlin")
    bank("Business", 1000, user=alice)
    urgent = ref.priorities["Urgent"].id
    # Signed in at the travelled moment: a session signed later than "now" (this test once ran
    # after SATURDAY_NIGHT had passed on the wall clock) would not be accepted back in time.
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        login(alice)
        form = client.get("/portal/tickets/new").get_data(as_text=True)
        assert 'hx-get="/portal/tickets/new/quote"' in form and "hx-include=\"[name='category']\"" in form
        sales = client.get(
            f"/portal/tickets/new/quote?priority={urgent}&category={ref.categories['Sales'].id}",
            headers={"HX-Request": "true"},
        ).get_data(as_text=True)
        it = client.get(
            f"/portal/tickets/new/quote?priority={urgent}&category={ref.categories['IT'].id}",
            headers={"HX-Request": "true"},
        ).get_data(as_text=True)
    assert "response by" in sales and ">Mon 07 Dec 10:00</time>" in sales
    assert ">05:00 today</time>" in it  # round the clock: an hour after Sat 04:00 Berlin time


def test_an_admin_sets_a_priority_s_targets_and_refund(client, admin, ref):
    urgent = ref.priorities["Urgent"]
    data = {
        "credit_cost": 250,
        "response_minutes": 60,
        "resolution_minutes": 480,
        "resolution_refund_percent": 50,
        "round_the_clock": "y",
    }
    response = client.post(f"/admin/credits/tariffs/{urgent.id}", data=data)
    assert response.headers["Location"] == f"/admin/credits/tariffs#tariff-{urgent.id}"
    assert "Urgent saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert (urgent.resolution_minutes, urgent.resolution_refund_percent, urgent.business_hours) == (
        480,
        50,
        False,
    )
    page = client.get("/admin/credits/tariffs").get_data(as_text=True)
    assert f'id="clock-{urgent.id}" name="round_the_clock" value="y" checked' in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"resolution_minutes": "", "resolution_refund_percent": 50},
            "A resolution refund needs a resolution target.",
        ),
        ({"resolution_minutes": 30}, "The resolution target is at least as long as the response target."),
        ({"resolution_refund_percent": 150}, "Refund if resolved late (%) must be between 0 and 100."),
    ],
)
def test_inconsistent_targets_are_refused_with_a_message(client, admin, ref, change, message):
    urgent = ref.priorities["Urgent"]
    data = {"credit_cost": 250, "response_minutes": 60, "resolution_minutes": 480, **change}
    page = client.post(f"/admin/credits/tariffs/{urgent.id}", data=data).get_data(as_text=True)
    assert message in page
    db.session.expire_all()
    assert urgent.resolution_minutes is None


def test_a_ticket_moved_to_a_category_with_other_hours_counts_what_its_clock_had_left(
    client, admin, make, ref
):
    client.post("/admin/business-hours", data=OFFICE)  # the default (IT's): weekdays 09:00-17:00
    client.post(
        "/admin/business-hours",
        data={"category": ref.categories["Sales"].id, "timezone": "UTC", "always_open": "y"},
    )
    sunday_noon = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
    with time_machine.travel(sunday_noon, tick=False):
        ticket = _open(make, ref, category="Sales")  # round the clock: an hour
    assert _local(ticket.due_at) == datetime(2026, 12, 6, 13, 0)
    with time_machine.travel(datetime(2026, 12, 6, 11, 40, tzinfo=UTC), tick=False):
        response = client.post(
            f"/agent/tickets/{ticket.id}/category",
            data={"category-value": ref.categories["IT"].id, "category-version": ticket.version},
        )
        assert response.status_code in (200, 302, 303)
    db.session.expire_all()
    moved = db.session.get(Ticket, ticket.id)
    assert moved.category_id == ref.categories["IT"].id
    # 40 minutes spent round the clock, 20 left, counted on IT's office hours: Monday 09:20
    # (from creation on office hours it would say Monday 10:00, forgetting the Sunday's 40 minutes)
    assert _local(moved.due_at) == datetime(2026, 12, 7, 9, 20)
