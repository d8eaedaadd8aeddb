"""Admin page for business hours: the default calendar and each category's own (/admin/business-hours)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk.accounts.forms import timezone_choices
from helpdesk.actions import perform
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import calendars
from helpdesk.tickets.blueprints import admin_bp as bp
from helpdesk.tickets.forms import CalendarForm, RemoveCalendarForm
from helpdesk.tickets.hours import WEEKDAYS, holiday_names
from helpdesk.tickets.models import Category

VISIBLE_FIELDS = {"timezone", "closures", "country", "subdivision", *(f"day{d}" for d in range(7))}


def _category(raw):
    """None for the default calendar, else the category (404 if it does not exist)."""
    if raw in (None, "", "default"):
        return None
    category = db.session.get(Category, int(raw)) if str(raw).isdigit() and len(str(raw)) < 10 else None
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
        return _page(category, form, calendar, 400)
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
    )
    if not outcome.ok:
        for name, message in getattr(outcome.error, "errors", {"hours": outcome.message}).items():
            target = getattr(form, name, None) if name in VISIBLE_FIELDS else None
            (target.errors if target is not None else form.form_errors).append(message)
        return _page(category, form, calendar, 400)
    whose = f"{category.name}’s" if category else "The default"
    flash(f"{whose} business hours saved. Tickets opened from now on use them.", "success")
    return redirect(url_for("tickets_admin.business_hours", category=category.id if category else None))


@bp.post("/business-hours/remove")
def remove_business_hours():
    form = RemoveCalendarForm()
    category = _category(form.category.data) if form.validate_on_submit() else abort(400)
    if category is None:
        abort(400)
    perform(calendars.remove_category_calendar, category.id)
    flash(f"{category.name} now uses the default business hours.", "success")
    return redirect(url_for("tickets_admin.business_hours"))
