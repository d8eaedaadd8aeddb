"""Admin page for business hours: the default calendar and each category's own (/admin/business-hours)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk.accounts.forms import timezone_choices
from helpdesk.actions import perform
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.formfields import parse_id
from helpdesk.tickets import calendars
from helpdesk.tickets.blueprints import admin_bp as bp
from helpdesk.tickets.forms import CalendarForm, RemoveCalendarForm
from helpdesk.tickets.hours import WEEKDAYS, holiday_names
from helpdesk.tickets.models import Category
from helpdesk.web import format_datetime

VISIBLE_FIELDS = {"timezone", "closures", "country", "subdivision", *(f"day{d}" for d in range(7))}


def _category(raw):
    """None for the default calendar, else the category (404 if it does not exist, or if `raw` is
    no id: "²" is a digit to str.isdigit() but no number to int(), which answered 500)."""
    if raw in (None, "", "default"):
        return None
    category_id = parse_id(raw)
    category = db.session.get(Category, category_id) if category_id is not None else None
    return category or abort(404)


def _form(category, formdata=None):
    calendar = calendars.calendar_of(category.id if category else None)
    data = {
        "category": str(category.id) if category else "",
        "timezone": calendar.timezone if calendar else "UTC",
        "always_open": calendar.always_open if calendar else False,
        "closures": calendars.closures_text(calendar),
        "country": (calendar.holiday_country or "") if calendar else "",
        "subdivision": (calendar.holiday_subdivision or "") if calendar else "",
        **{f"day{d}": calendars.day_text(calendar, d) for d in range(7)},
    }
    form = CalendarForm(formdata=formdata, data=data)
    if formdata is None:
        form.seen.data = calendars.version_of(calendar)
    form.timezone.choices = timezone_choices()
    form.country.choices = [("", "No public holidays")] + calendars.holiday_countries()
    return form, calendar


def _page(category, form, calendar, status=200):
    holidays = {}
    if calendar is not None and calendar.holiday_country:
        year = utcnow().year
        holidays = holiday_names(calendar.holiday_country, calendar.holiday_subdivision, year)
    return render_template(
        "tickets/admin/business_hours.html",
        overview=calendars.overview(),
        category=category,
        form=form,
        calendar=calendar,
        weekdays=WEEKDAYS,
        holidays=holidays,
        remove_form=RemoveCalendarForm(formdata=None, data={"category": category.id if category else ""}),
    ), status


@bp.get("/business-hours")
def business_hours():
    category = _category(request.args.get("category"))
    form, calendar = _form(category)
    return _page(category, form, calendar)


@bp.post("/business-hours")
def save_business_hours():
    category = _category(request.form.get("category"))
    form, calendar = _form(category, request.form)
    if not form.validate_on_submit():
        return _page(category, form, calendar, 422)
    outcome = perform(
        calendars.save_calendar,
        current_user,
        category.id if category else None,
        timezone=form.timezone.data,
        always_open=form.always_open.data,
        days=form.days(),
        closures=form.closures.data,
        country=form.country.data,
        subdivision=form.subdivision.data,
        seen=form.seen.data or None,
    )
    if isinstance(outcome.error, calendars.CalendarStale):
        return _stale(category, form)
    if not outcome.ok:
        for name, message in getattr(outcome.error, "errors", {"hours": outcome.message}).items():
            target = getattr(form, name, None) if name in VISIBLE_FIELDS else None
            (target.errors if target is not None else form.form_errors).append(message)
        return _page(category, form, calendar, 422)
    whose = f"{category.name}’s" if category else "The default"
    flash(f"{whose} business hours saved. Tickets opened from now on use them.", "success")
    return redirect(url_for("tickets_admin.business_hours", category=category.id if category else None))


# What the refusal of a stale form names, in the page's order.
_COMPARED = {
    "timezone": "time zone",
    "always_open": "round the clock",
    **{f"day{d}": WEEKDAYS[d] for d in range(7)},
}
_COMPARED.update(closures="closed dates", country="public holidays", subdivision="region")


def _shown(value):
    """A calendar field's value as the refusal of a stale form names it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
    return ", ".join(lines) or "none"


def _stale(category, form):
    """The form saved after someone else saved the same calendar: nothing was saved. It keeps
    what was typed, says who changed the hours and when and where the saved ones differ, and now
    carries the current version: saving it again deliberately replaces them (as a KB article's)."""
    current, calendar = _form(category)
    whose = f"{category.name}’s business hours" if category else "The default business hours"
    if calendar is None:
        said = f"{whose} were removed after you opened this form"
    else:
        who = calendar.updated_by.name if calendar.updated_by else "someone"
        said = f"{whose} were changed by {who} at {format_datetime(calendar.updated_at)} after you opened this form"
    differ = []
    for name, label in _COMPARED.items():
        saved, typed = _shown(current[name].data), _shown(form[name].data)
        if saved != typed:
            differ.append(f"{label}: {saved}")
    detail = f" The saved hours differ from yours in {'; '.join(differ)}." if differ else ""
    form.form_errors.append(
        f"{said}; nothing was saved.{detail} The form still shows what you typed: save again to replace "
        "the saved hours with it."
    )
    form.seen.data = current.seen.data
    return _page(category, form, calendar, 409)


@bp.post("/business-hours/remove")
def remove_business_hours():
    form = RemoveCalendarForm()
    category = _category(form.category.data) if form.validate_on_submit() else abort(400)
    if category is None:
        abort(400)
    perform(calendars.remove_category_calendar, category.id)
    flash(f"{category.name} now uses the default business hours.", "success")
    return redirect(url_for("tickets_admin.business_hours"))
