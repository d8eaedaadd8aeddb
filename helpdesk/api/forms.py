"""The token form: a name, scopes, a lifetime (shape only; tokens.create_token checks the rules)."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.api.tokens import DOMAINS, LIFETIMES, SCOPES
from helpdesk.formfields import Filled

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
        validators=[Filled(), Length(max=100)],
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

    def offer(self, scopes):
        """Offer only `scopes` (tokens.useful_scopes of the user): another is refused as not a choice."""
        self.scopes.choices = [SelectChoice(s, scope_label(s)) for s in scopes]
        return self

    def scope_rows(self):
        """The scopes as a grid: (what, read option, write option) per domain offered, an option
        None where that level is not offered (each option renders its box and its label)."""
        options = {option.data: option for option in self.scopes}
        rows = []
        for domain in DOMAINS:
            read, write = options.get(f"{domain}:read"), options.get(f"{domain}:write")
            if read or write:
                rows.append((SCOPE_LABELS[domain], read, write))
        return rows


class RevokeForm(FlaskForm):
    """Only the CSRF token: the token to revoke is in the address."""
