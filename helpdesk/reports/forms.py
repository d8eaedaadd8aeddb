"""The report filter form (GET, bookmarkable): a date range and a category."""

from datetime import timedelta

from wtforms import DateField, Form, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from helpdesk.formfields import parse_id
from helpdesk.reports.metrics import MAX_DAYS, ReportFilter


class ReportFilterForm(Form):
    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
    category = SelectField("Category", validators=[Optional()])

    def set_categories(self, categories):
        self.category.choices = [SelectChoice("", "All my categories")] + [
            SelectChoice(str(c.id), c.name) for c in categories
        ]

    def validate_end(self, field):
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError("The end date must be on or after the start date.")
            if (field.data - self.start.data).days >= MAX_DAYS:
                raise ValidationError(f"Choose a range of at most {MAX_DAYS} days.")

    def to_filter(self, default):
        """The chosen range (missing ends filled from `default`, keeping the default's length)."""
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
        report of the last 30 days); a refused range keeps what was typed, beside its error."""
        if not self.validate():
            return default
        flt = self.to_filter(default)
        for field, value in ((self.start, flt.start), (self.end, flt.end)):
            field.data, field.raw_data = value, None
        return flt
