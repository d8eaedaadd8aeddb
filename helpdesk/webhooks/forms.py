"""Forms of the webhook admin pages: shape only (the service checks the URL and the events)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.webhooks.models import EVENT_TYPES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EndpointForm(FlaskForm):
    url = StringField(
        "URL",
        filters=[_strip],
        description="Where the events are POSTed, e.g. https://example.com/hooks/helpdesk.",
    )
    description = StringField(
        "Description",
        validators=[Optional(), Length(max=200)],
        filters=[_strip],
        description="Optional: what receives the events (CRM, chat, monitoring).",
    )
    events = SelectMultipleField(
        "Events to send",
        choices=dict(EVENT_TYPES),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service keeps only known events and says when none is left
    )
    internal_notes = BooleanField(
        "Also send internal notes (their text leaves the desk)",
        description="Off: message.created is sent for public replies only.",
    )


class EditEndpointForm(EndpointForm):
    """An endpoint's settings, with the version the page showed (endpoints.version_of)."""

    seen = HiddenField(validators=[Optional(), Length(max=40)])


class NewEndpointForm(EndpointForm):
    """ "New endpoint": its submission key, made when the form is shown (and kept when it comes back
    refused), adds one endpoint however often the form is sent."""

    submission_key = HiddenField(validators=[Optional(), Length(max=64)])


class ActionForm(FlaskForm):
    """A button's form: only the CSRF token."""
