"""The report filter form (GET, bookmarkable): a date range and a category."""

import dataclasses
from datetime import date, timedelta

from wtforms import DateField, Form, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from helpdesk.dbtypes import utcnow
from helpdesk.formfields import parse_id
from helpdesk.reports.metrics import MAX_DAYS, ReportFilter

# The earliest day a report covers: no help desk's tickets are older, and a bound keeps the date
# arithmetic of a report (a default span added, the day after the end) inside what `date` holds.
FIRST_DAY = date(2000, 1, 1)


def last_day():
    """The latest day a report may be asked for: the end of next year (9999-12-31 overflowed)."""
    return date(utcnow().year + 1, 12, 31)


def _in_reach(field):
    """Refuse a date outside FIRST_DAY..last_day(), saying which dates may be chosen."""
    if field.data is not None and not FIRST_DAY <= field.data <= last_day():
        raise ValidationError(f"Choose a date from {FIRST_DAY.isoformat()} to {last_day().isoformat()}.")


class ReportFilterForm(Form):
    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
    category = SelectField("Category", validators=[Optional()])

    def set_categories(self, categories):
        self.category.choices = [SelectChoice("", "All my categories")] + [
            SelectChoice(str(c.id), c.name) for c in categories
        ]

    def validate_start(self, field):
        _in_reach(field)

    def validate_end(self, field):
        _in_reach(field)
        if self.start.errors:
            return  # a start out of reach says so; its order or distance to the end is moot
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError("The end date must be on or after the start date.")
            if (field.data - self.start.data).days >= MAX_DAYS:
                raise ValidationError(f"Choose a range of at most {MAX_DAYS} days.")

    def to_filter(self, default):
        """The chosen range (missing ends filled from `default`, keeping the default's length). Called
        on a valid form only, whose dates lie within FIRST_DAY..last_day(), so the arithmetic here
        and ReportFilter.end_before stays within what a date holds."""
        span = default.end - default.start
        end = self.end.data or ((self.start.data + span) if self.start.data else default.end)
        start = self.start.data or (end - span)
        category = parse_id(self.category.data)
        if (end - start).days >= MAX_DAYS:
            start = end - timedelta(days=MAX_DAYS - 1)
        return ReportFilter(start=start, end=end, category_id=category)

    def chosen(self, default):
        """The report's range: the form's (to_filter) when it is valid, else `default`. The date
        fields then show the range the report covers (an empty field showed "mm/dd/yyyy" above a
        report of the last 30 days); a refused range keeps what was typed, beside its error, and the
        default period is shown for the chosen category (the select still names it)."""
        if not self.validate():  # the default period, but still the chosen category if it may be
            if self.category.errors:
                return default
            return dataclasses.replace(default, category_id=parse_id(self.category.data))
        flt = self.to_filter(default)
        for field, value in ((self.start, flt.start), (self.end, flt.end)):
            field.data, field.raw_data = value, None
        return flt
