"""Portal forms: shape only. Choices are filled in by the view from the services."""

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from helpdesk.web import page_number


def new_submission_key():
    return secrets.token_urlsafe(24)


class NewTicketForm(FlaskForm):
    category = SelectField("Category", coerce=int, validators=[InputRequired()])
    # Radios, so each option can carry its response target, price and (if short) the shortfall.
    priority = RadioField("Priority", coerce=int, validators=[InputRequired()])
    subject = StringField("Subject", validators=[InputRequired(), Length(max=200)])
    body = TextAreaField(
        "Describe the problem",
        validators=[InputRequired(), Length(max=50000)],
        description="Markdown is supported. Include what you expected and what happened.",
    )
    attachments = MultipleFileField("Attachments", validators=[Optional()])
    submission_key = HiddenField(validators=[InputRequired(), Length(max=64)])


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", validators=[InputRequired(), Length(max=50000)])
    attachments = MultipleFileField("Attach files", validators=[Optional()])
    submission_key = HiddenField(validators=[Optional(), Length(max=64)])


class UpgradePriorityForm(FlaskForm):
    priority = RadioField("New priority", coerce=int, validators=[InputRequired()])


class TicketListFilter:
    """Query-string filters for My tickets (GET, bookmarkable)."""

    SCOPES = ("mine", "organization", "following")
    STATES = ("open", "closed", "all")

    def __init__(self, args):
        self.scope = args.get("scope") if args.get("scope") in self.SCOPES else "mine"
        self.state = args.get("state") if args.get("state") in self.STATES else "open"
        self.q = (args.get("q") or "").strip()[:200]
        self.page = page_number(args)

    def as_args(self, **changes):
        args = {"scope": self.scope, "state": self.state, "q": self.q, "page": self.page}
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None)}
