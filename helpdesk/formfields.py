"""Numbers from forms that fit the database: every integer a form hands to a query or a column is
within the range of an INTEGER column, so nothing a user types can make the database fail
(PostgreSQL: "integer out of range"; SQLite: "Python int too large").

Forms import `IntegerField` from here instead of WTForms, and `SelectField`s of ids coerce with
`db_int` / `optional_db_int`: a value beyond the range is a form error ("Enter a whole number
between …", naming the field's own limits when it has a NumberRange / "Not a valid choice."), like
any other bad value.
"""

from wtforms import IntegerField as _IntegerField
from wtforms.validators import InputRequired, NumberRange, StopValidation

MAX_ID = 2**31 - 1  # also the largest INTEGER on PostgreSQL (ids, counts, amounts)
MIN_INT = -(2**31)


def db_int(value):
    """int(value) when it fits an INTEGER column, else ValueError (WTForms: not a valid choice)."""
    number = int(value)
    if not MIN_INT <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


def optional_db_int(value):
    """None for an empty choice ("unassigned", "any"), else db_int."""
    if value in ("", None):
        return None
    return db_int(value)


class IntegerField(_IntegerField):
    """WTForms' IntegerField, refusing numbers an INTEGER column cannot hold."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not MIN_INT <= self.data <= MAX_ID:
            self.data = None
            low, high = self.limits()
            raise ValueError(f"Enter a whole number between {low:,} and {high:,}.")

    def limits(self):
        """The smallest and largest number the field takes: its NumberRange's where it has one
        (a price of 0-1,000,000 says so, not the column's -2,147,483,648-2,147,483,647)."""
        low, high = MIN_INT, MAX_ID
        for check in self.validators:
            if isinstance(check, NumberRange):
                low = low if check.min is None else max(low, check.min)
                high = high if check.max is None else min(high, check.max)
        return low, high

    def pre_validate(self, form):
        """A value that is not a number has its one message (from process_formdata): the range
        and other checks would only add a second, contradicting one about a missing number."""
        typed = bool(self.raw_data) and isinstance(self.raw_data[0], str) and self.raw_data[0].strip()
        if self.process_errors and typed:  # nothing typed: Optional or InputRequired decides
            raise StopValidation()


def parse_id(raw):
    """An id from a query string, a cookie or a reference: the int when `raw` is a decimal number
    in 1..MAX_ID, else None (never an exception, never a number the database cannot hold)."""
    raw = str(raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None


def form_state(form, **empty):
    """A form's shown values and errors as plain data, for templates that write their inputs out
    (hot pages: WTForms' widgets cost more than the rest of such a page):
    {"data": {field: the value its input shows}, "errors": {field: [messages]}, "form_errors": [...]}.
    With `form` None (a page shown afresh), the `empty` values and no errors."""
    if form is None:
        return {"data": dict(empty), "errors": {}, "form_errors": []}
    data = dict(empty)
    for name, field in form._fields.items():
        shown = field._value() if hasattr(field, "_value") else None
        if isinstance(shown, str):
            data[name] = shown
    errors = {name: list(field.errors) for name, field in form._fields.items() if field.errors}
    return {"data": data, "errors": errors, "form_errors": list(form.form_errors)}


class Filled(InputRequired):
    """InputRequired that also refuses text made only of spaces: a subject of "   " is no subject
    (the error is WTForms' own "This field is required.", which field_message names: "Subject is
    required."). Sets the field's `required` flag like InputRequired."""

    def __call__(self, form, field):
        super().__call__(form, field)
        if isinstance(field.data, str) and not field.data.strip():
            field.errors[:] = []
            raise StopValidation(self.message or field.gettext("This field is required."))
