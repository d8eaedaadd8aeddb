"""The token form: a name, scopes, a lifetime (shape only; tokens.create_token checks the rules)."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.api.tokens import LIFETIMES, SCOPES

SCOPE_LABELS = {
    "tickets": "Tickets and messages",
    "credits": "Credits (banks, statements, quotes)",
    "people": "People (admins: users, organizations, permissions)",
    "kb": "Knowledge base",
}


def scope_label(scope):
    domain, level = scope.split(":")
    return f"{SCOPE_LABELS[domain]}: {level}"


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[InputRequired(), Length(max=100)],
        description="What uses it, e.g. “Monitoring”.",
    )
    scopes = SelectMultipleField(
        "Scopes",
        choices=[SelectChoice(s, scope_label(s)) for s in SCOPES],
        validators=[InputRequired(message="Choose at least one scope.")],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description="A write scope includes reading the same things.",
    )
    days = SelectField(
        "Expires after",
        choices=[SelectChoice(d, f"{d} days") for d in LIFETIMES],
        coerce=int,
        default=90,
        validators=[InputRequired()],
    )


class RevokeForm(FlaskForm):
    """Only the CSRF token: the token to revoke is in the address."""
