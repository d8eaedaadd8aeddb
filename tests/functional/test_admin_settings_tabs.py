"""Admin configuration forms opened in two tabs (audit: data loss): a save from a form opened
before someone else's save of the same tariff or plan is refused with who changed what, instead
of silently putting the old values back; and the tariff form's messages name the real limits and
sit under their own fields."""

import html
import re

import pytest

from helpdesk.extensions import db
from helpdesk.tickets.models import Priority
from tests.credit_helpers import plan

HX = {"HX-Request": "true"}


@pytest.fixture
def ada(make, login):
    admin = make.admin(name="Ada Admin")
    login(admin)
    return admin


def _form_html(page, form_id):
    start = page.index(f'id="{form_id}"')
    return page[start : page.index("</form>", start)]


def _seen(page, form_id, prefix=""):
    """The settings version a form carries ("" when it carries none)."""
    found = re.search(rf'name="{prefix}seen_change"[^>]* value="(\d*)"', _form_html(page, form_id))
    return found.group(1) if found else ""


def _tariff(urgent, seen, **change):
    """The tariff form as the page showed it (Urgent: 250 credits), with `change` typed in."""
    data = {"credit_cost": "250", "response_minutes": str(urgent.response_minutes), "seen_change": seen}
    data.update(change)
    return data


def test_a_tariff_saved_from_a_stale_tab_is_refused_with_who_changed_what(client, ref, ada):
    urgent = ref.priorities["Urgent"]
    target = urgent.response_minutes
    page = client.get("/admin/credits/tariffs").get_data(as_text=True)
    seen = _seen(page, f"tariff-{urgent.id}")  # both tabs opened now
    tab1 = client.post(f"/admin/credits/tariffs/{urgent.id}", data=_tariff(urgent, seen, credit_cost="300"))
    assert tab1.status_code == 302
    # tab 2 still shows 250 and changes only the response target
    tab2 = client.post(
        f"/admin/credits/tariffs/{urgent.id}", data=_tariff(urgent, seen, response_minutes="90")
    )
    body = html.unescape(tab2.get_data(as_text=True))
    assert tab2.status_code == 409
    assert re.search(r"Urgent was changed by Ada Admin at \d\d:\d\d \(price 300\)", body)
    assert "nothing was saved. Check the values below and save again." in body
    row = _form_html(body, f"tariff-{urgent.id}")
    assert 'name="credit_cost" value="300"' in row  # the other tab's price, not the stale 250
    assert 'name="response_minutes" value="90"' in row  # what this tab typed is kept
    db.session.expire_all()
    stored = db.session.get(Priority, urgent.id)
    assert (stored.credit_cost, stored.response_minutes) == (300, target)
    # saving the refused form again (it carries the current version) keeps both changes
    again = client.post(
        f"/admin/credits/tariffs/{urgent.id}",
        data=_tariff(urgent, _seen(body, f"tariff-{urgent.id}"), credit_cost="300", response_minutes="90"),
    )
    assert again.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Priority, urgent.id)
    assert (stored.credit_cost, stored.response_minutes) == (300, 90)


def test_with_htmx_a_row_saves_twice_but_a_stale_row_is_refused(client, ref, ada):
    urgent = ref.priorities["Urgent"]
    page = client.get("/admin/credits/tariffs").get_data(as_text=True)
    seen = _seen(page, f"tariff-{urgent.id}")
    first = client.post(
        f"/admin/credits/tariffs/{urgent.id}", data=_tariff(urgent, seen, credit_cost="300"), headers=HX
    ).get_data(as_text=True)
    assert "Saved." in first
    # the same row saved again: it carries its own save's version, so it is not stale
    second = client.post(
        f"/admin/credits/tariffs/{urgent.id}",
        data=_tariff(urgent, _seen(first, f"tariff-{urgent.id}"), credit_cost="320"),
        headers=HX,
    )
    assert second.status_code == 200 and "Saved." in second.get_data(as_text=True)
    # another tab, opened before both
    stale = client.post(
        f"/admin/credits/tariffs/{urgent.id}", data=_tariff(urgent, seen, response_minutes="45"), headers=HX
    )
    body = html.unescape(stale.get_data(as_text=True))
    assert stale.status_code == 200 and "<html" not in body and "Saved." not in body
    assert "Urgent was changed by Ada Admin" in body and "(price 320)" in body
    db.session.expire_all()
    assert db.session.get(Priority, urgent.id).credit_cost == 320


def _plan_data(p, ref, seen, **change):
    data = {
        "name": p.name,
        "description": p.description or "",
        "priorities": [ref.priorities["Normal"].id],
        "credits_enabled": "y",
        "signup_grant": p.signup_grant,
        "monthly_allowance": p.monthly_allowance,
        "rollover_cap": "" if p.rollover_cap is None else p.rollover_cap,
        "billing_mode": p.billing_mode,
        "minute_rate": p.minute_rate,
        "overdraft_floor": p.overdraft_floor,
        "thresholds": "",
        "seen_change": seen,
        **change,
    }
    return {f"plan{p.id}-{name}": value for name, value in data.items()}


def test_a_plan_saved_from_a_stale_tab_keeps_the_other_tab_s_grant(client, ref, ada):
    payg = plan("Pay as you go")
    page = client.get("/admin/credits/plans").get_data(as_text=True)
    seen = _seen(page, f"plan-{payg.id}", prefix=f"plan{payg.id}-")
    tab1 = client.post(f"/admin/credits/plans/{payg.id}", data=_plan_data(payg, ref, seen, signup_grant=250))
    assert tab1.status_code == 302
    db.session.expire_all()
    payg = plan("Pay as you go")
    tab2 = client.post(
        f"/admin/credits/plans/{payg.id}",
        data=_plan_data(payg, ref, seen, signup_grant=100, description="Top up when you like"),
    )
    body = html.unescape(tab2.get_data(as_text=True))
    assert tab2.status_code == 409
    assert "Pay as you go was changed by Ada Admin at" in body and "sign-up grant 250" in body
    form = _form_html(body, f"plan-{payg.id}")
    assert re.search(r'name="plan\d+-signup_grant"[^>]*value="250"', form)
    assert "Top up when you like" in form  # the description typed in this tab is kept
    db.session.expire_all()
    payg = plan("Pay as you go")
    assert payg.signup_grant == 250 and payg.description != "Top up when you like"


def test_a_plan_renamed_to_a_digit_that_is_no_number_is_named_in_the_stale_refusal(client, ref, ada):
    # The refusal says what the other tab changed; "²" is a digit to isdigit() and was read as a
    # number (int() refused it: a 500 instead of the refusal).
    payg = plan("Pay as you go")
    page = client.get("/admin/credits/plans").get_data(as_text=True)
    seen = _seen(page, f"plan-{payg.id}", prefix=f"plan{payg.id}-")
    assert (
        client.post(f"/admin/credits/plans/{payg.id}", data=_plan_data(payg, ref, seen, name="²")).status_code
        == 302
    )
    db.session.expire_all()
    payg = db.session.get(type(payg), payg.id)
    tab2 = client.post(
        f"/admin/credits/plans/{payg.id}",
        data=_plan_data(payg, ref, seen, name="Pay as you go", signup_grant=7),
    )
    assert tab2.status_code == 409 and "name “²”" in html.unescape(tab2.get_data(as_text=True))


def test_a_huge_price_or_target_names_the_field_s_own_limits(client, ref, ada):
    urgent = ref.priorities["Urgent"]
    answer = client.post(
        f"/admin/credits/tariffs/{urgent.id}",
        data={"credit_cost": "99999999999", "response_minutes": "99999999999"},
    )
    body = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 422 and "2,147,483" not in body
    row = _form_html(body, f"tariff-{urgent.id}")
    assert re.search(r'id="cost-\d+-errors"><li>Enter a whole number between 0 and 1,000,000\.', row)
    assert re.search(r'id="minutes-\d+-errors"><li>Enter a whole number between 1 and 525,600\.', row)


def test_a_refused_resolution_target_is_shown_under_its_own_field(client, ref, ada):
    urgent = ref.priorities["Urgent"]
    data = {"credit_cost": "250", "response_minutes": "120", "resolution_minutes": "60"}
    body = html.unescape(client.post(f"/admin/credits/tariffs/{urgent.id}", data=data).get_data(as_text=True))
    row = _form_html(body, f"tariff-{urgent.id}")
    message = "The resolution target is at least as long as the response target."
    errors = re.search(r'<ul class="errors" id="([a-z]+)-\d+-errors"><li>([^<]*)</li>', row)
    assert errors.groups() == ("resolution", message)
    assert (
        f'id="resolution-{urgent.id}" name="resolution_minutes" value="60" min="1" max="5256000" aria-invalid="true" aria-describedby="resolution-{urgent.id}-errors"'
        in row
    )
    assert f"cost-{urgent.id}-errors" not in row  # not under the price any more


# every field, as a browser sends the form
OFFICE = {
    "timezone": "Europe/Berlin",
    **{f"day{d}": "09:00-17:00" if d < 5 else "" for d in range(7)},
    "closures": "",
    "country": "",
    "subdivision": "",
}


def _hours_seen(page):
    found = re.search(r'name="seen" type="hidden" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else ""


def test_business_hours_saved_from_a_stale_tab_are_refused_and_keep_what_was_typed(client, ref, ada):
    seen = _hours_seen(client.get("/admin/business-hours").get_data(as_text=True))  # both tabs
    tab1 = client.post("/admin/business-hours", data={**OFFICE, "seen": seen, "day5": "10:00-14:00"})
    assert tab1.status_code == 302
    tab2 = client.post("/admin/business-hours", data={**OFFICE, "seen": seen, "timezone": "Europe/London"})
    body = html.unescape(tab2.get_data(as_text=True))
    assert tab2.status_code == 409
    assert re.search(r"The default business hours were changed by Ada Admin at [\d-]+ \d\d:\d\d", body)
    assert "The saved hours differ from yours in time zone: Europe/Berlin; Saturday: 10:00-14:00." in body
    assert "save again to replace the saved hours with it." in body
    assert re.search(r'<option selected value="Europe/London"|<option value="Europe/London" selected', body)
    from helpdesk.tickets import calendars

    db.session.expire_all()
    assert calendars.calendar_of(None).timezone == "Europe/Berlin"  # the first tab's save stands
    # saved again after reading that, it replaces them: the admin chose to
    again = client.post(
        "/admin/business-hours", data={**OFFICE, "seen": _hours_seen(body), "timezone": "Europe/London"}
    )
    assert again.status_code == 302
    db.session.expire_all()
    assert calendars.calendar_of(None).timezone == "Europe/London"


def _branding_seen(page):
    found = re.search(r'name="seen" type="hidden" value="([^"]*)"', page)
    return found.group(1) if found else ""


def _brand(client, seen, name, accent=""):
    data = {"name": name, "accent": accent, "seen": seen}
    return client.post("/admin/branding", data=data, content_type="multipart/form-data")


def test_branding_saved_from_a_stale_tab_is_refused_and_keeps_what_was_typed(client, ada):
    seen = _branding_seen(client.get("/admin/branding").get_data(as_text=True))
    assert _brand(client, seen, "Acme Support", "#0b5394").status_code == 302
    stale = _brand(client, seen, "Acme Help")  # tab 2 changes the name; its accent field was empty
    body = html.unescape(stale.get_data(as_text=True))
    assert stale.status_code == 409
    assert re.search(
        r"The branding was changed by Ada Admin at [\d-]+ \d\d:\d\d after you opened this page", body
    )
    assert "It now has desk name “Acme Support”, accent #0b5394, the standard logo." in body
    assert 'value="Acme Help"' in body
    from helpdesk.branding import settings

    db.session.expire_all()
    assert (settings.read().name, settings.read().accent) == ("Acme Support", "#0b5394")
    assert _brand(client, _branding_seen(body), "Acme Help", "#0b5394").status_code == 302
    db.session.expire_all()
    assert settings.read().name == "Acme Help"
