"""Knowledge-base forms and query-string arguments: shape only; the services check the rules."""

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from helpdesk.formfields import Filled, IntegerField, db_int, parse_id
from helpdesk.kb.articles import MAX_BODY, MAX_TITLE
from helpdesk.kb.feedback import MAX_COMMENT
from helpdesk.kb.models import STATUSES, VISIBILITIES
from helpdesk.web import page_number

VISIBILITY_CHOICES = [
    SelectChoice("public", "Public: anyone, also visitors who are not signed in (when the desk allows it)"),
    SelectChoice("customers", "Signed-in customers (and agents)"),
    SelectChoice("agents", "Agents only"),
]
assert [choice.value for choice in VISIBILITY_CHOICES] == list(VISIBILITIES)


def new_files_key():
    return secrets.token_urlsafe(24)


class ArticleForm(FlaskForm):
    category = SelectField("Category", coerce=db_int, validators=[InputRequired()])
    title = StringField("Title", validators=[Filled(), Length(max=MAX_TITLE)])
    body = TextAreaField(
        "Text",
        validators=[Filled(), Length(max=MAX_BODY)],
        description="Markdown, shown exactly as ticket messages are (no HTML). Images and files go below.",
    )
    visibility = RadioField("Who may read it", choices=VISIBILITY_CHOICES, validators=[InputRequired()])
    tags = StringField(
        "Tags",
        validators=[Optional(), Length(max=600)],
        description="Separate tags with commas: vpn, remote work.",
    )
    files = MultipleFileField("Images and attachments", validators=[Optional()])
    files_key = HiddenField(validators=[InputRequired(), Length(max=64)])
    # The revision the form was opened at: an edit over someone else's newer text is refused.
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    action = StringField(
        validators=[AnyOf(("save", "publish"), message="Choose Save or Publish.")], default="save"
    )

    def ensure_key(self):
        if not self.files_key.data:
            self.files_key.data = new_files_key()
        return self

    def validate(self, extra_validators=None):
        """As WTForms, and the errors of the fields the page does not show (the buttons, the hidden
        keys) are said at the top of the form."""
        valid = super().validate(extra_validators)
        for name in ("action", "files_key", "version"):
            self.form_errors.extend(getattr(self, name).errors)
        return valid


class StatusForm(FlaskForm):
    status = HiddenField(validators=[AnyOf(STATUSES, message="Choose a status.")])


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token: restore a revision, remove a file, make an article."""


class VoteForm(FlaskForm):
    helpful = StringField(validators=[AnyOf(("yes", "no"), message="Choose Yes or No.")])


class CommentForm(FlaskForm):
    comment = TextAreaField(
        "What were you looking for? (read by the authors)",
        validators=[
            InputRequired(message="Write what you were looking for, or leave it."),
            # said as field_message says it (the label is a question, no name for the field)
            Length(max=MAX_COMMENT, message=f"Your comment can be at most {MAX_COMMENT:,} characters."),
        ],
    )


class SearchArgs:
    """The search box's query string (GET, bookmarkable); bad values fall back to none."""

    def __init__(self, args):
        self.q = (args.get("q") or "").strip()[:200]
        self.category = parse_id(args.get("category"))
        self.tag = " ".join((args.get("tag") or "").split()).lower()[:40]
        self.page = page_number(args)

    def as_args(self, **changes):
        args = {"q": self.q, "category": self.category, "tag": self.tag, "page": self.page}
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None) and not (k == "page" and v == 1)}


class ArticleListArgs:
    """Filters of the agents' article list (GET, bookmarkable)."""

    STATUS_FILTERS = ("all", *STATUSES)

    def __init__(self, args):
        status = args.get("status", "all")
        self.status = status if status in self.STATUS_FILTERS else "all"
        self.category = parse_id(args.get("category"))
        self.q = (args.get("q") or "").strip()[:200]
        self.page = page_number(args)

    def as_args(self, **changes):
        args = {"status": self.status, "category": self.category, "q": self.q, "page": self.page}
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None) and not (k == "status" and v == "all")}
