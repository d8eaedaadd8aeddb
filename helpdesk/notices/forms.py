"""Notices forms: shape only (the notices and accounts services apply the rules)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField

from helpdesk.notices.models import AGENT_KINDS


def _mail_preferences_form():
    """One "also by mail" box per everyday kind of notice (fields named mail_<kind>)."""
    fields = {f"mail_{kind}": BooleanField(label) for kind, (label, _default) in AGENT_KINDS.items()}
    return type("MailPreferencesForm", (FlaskForm,), fields)


MailPreferencesForm = _mail_preferences_form()


def mailed_kinds(form):
    """The kinds whose box is ticked."""
    return {kind for kind in AGENT_KINDS if form[f"mail_{kind}"].data}


class AvailabilityForm(FlaskForm):
    round_robin = BooleanField(
        "Give me new tickets by round-robin",
        description="In the round-robin categories you are granted, new tickets come to you in turn.",
    )
    away = BooleanField("I am away", description="While away, round-robin gives you no new tickets.")
