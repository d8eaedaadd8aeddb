"""Ticket forms and query-string filters for the portal, the agent console and the category admin: shape only; the services check the rules."""

import re
import secrets

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Email, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from helpdesk.formfields import Filled, IntegerField, db_int, optional_db_int, parse_id
from helpdesk.tickets.bulk import ACTIONS
from helpdesk.tickets.categories import MAX_NAME
from helpdesk.tickets.models import STATUS_LABELS, STATUSES
from helpdesk.tickets.queue import SORTS, QueueFilters
from helpdesk.web import page_number


def new_submission_key():
    return secrets.token_urlsafe(24)


def offer_categories(field, categories):
    """A new ticket's category select. With several categories its first option is "Choose a
    category" (value "", refused as "Category is required."): a form that opened on the first of
    the list had tickets filed there by whoever did not look, out of sight of the agents of the
    right one. With one there is nothing to choose, and it is chosen.

    `field.descriptions`: (name, description) of the categories that have one, for the help the
    form draws beside the list (tickets/_category_help.html) under the id `field.help_id` (False
    when there is none: the select's aria-describedby, which WTForms then leaves out)."""
    options = [(c.id, c.name) for c in categories]
    field.descriptions = [(c.name, c.description) for c in categories if c.description]
    field.help_id = f"{field.id}-help" if field.descriptions else False
    if len(options) == 1:
        field.choices = options
        if field.data is None:
            field.data = options[0][0]
    else:
        field.choices = [("", "Choose a category"), *options]


class NewTicketForm(FlaskForm):
    category = SelectField("Category", coerce=optional_db_int, validators=[InputRequired()])
    # Radios, so each option can carry its response target, price and (if short) the shortfall.
    priority = RadioField("Priority", coerce=db_int, validators=[InputRequired()])
    subject = StringField("Subject", validators=[Filled(), Length(max=200)])
    body = TextAreaField(
        "Describe the problem",
        validators=[Filled(), Length(max=50000)],
        description="Markdown is supported. Include what you expected and what happened.",
    )
    attachments = MultipleFileField("Attachments", validators=[Optional()])
    submission_key = HiddenField(validators=[InputRequired(), Length(max=64)])
    # The prices the page showed (credits.quotes.shown_prices), written anew each time it is
    # drawn: a priority that costs more by the time the form is sent is asked about, not charged.
    quoted = HiddenField()


class TicketDraftForm(FlaskForm):
    """The new-ticket form kept as it is on the way to buying credits, switching plan or asking a
    manager: nothing is required but its key (the service keeps what names a real category or
    priority); the lengths are the ticket's own."""

    category = IntegerField(validators=[Optional()])
    priority = IntegerField(validators=[Optional()])
    subject = StringField(validators=[Optional(), Length(max=200)])
    body = TextAreaField(validators=[Optional(), Length(max=50000)])
    submission_key = HiddenField(validators=[InputRequired(), Length(max=64)])


# Where the draft's button leads: /billing/, /portal/plan, or a request to the organization's managers.
DRAFT_NEXT = ("buy", "plan", "ask")


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", validators=[InputRequired(), Length(max=50000)])
    attachments = MultipleFileField("Attach files", validators=[Optional()])
    submission_key = HiddenField(validators=[Optional(), Length(max=64)])


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


STATUS_CHOICES = [(s, STATUS_LABELS[s]) for s in STATUSES]
STATUS_SELECT = [SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES]
QUEUE_STATUS_CHOICES = [("active", "Active (new, open, waiting)"), ("all", "All")] + STATUS_CHOICES
SORT_CHOICES = [
    ("attention", "Needs attention"),
    ("due", "Reply-by time"),
    ("priority", "Priority"),
    ("updated", "Last update"),
    ("due_desc", "Reply-by time, latest first"),
    ("priority_asc", "Priority, least urgent first"),
    ("updated_asc", "Last update, oldest first"),
]
SELECTED = re.compile(r"^(\d{1,12})\.(\d{1,12})$")


def select_choices(pairs):
    """(value, label) pairs (tuples or result rows) as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _positive_int(raw):
    return parse_id(raw)


class QueueArgs:
    """The queue's filters and sort from the query string (bookmarkable); bad values fall back to defaults."""

    DEFAULTS = {"status": "active", "assignee": "anyone", "sort": "attention"}

    def __init__(self, args):
        status = args.get("status", "active")
        self.status = status if status in dict(QUEUE_STATUS_CHOICES) else "active"
        self.category = _positive_int(args.get("category"))
        self.priority = _positive_int(args.get("priority"))
        assignee = args.get("assignee", "anyone")
        valid = assignee in ("anyone", "me", "unassigned") or _positive_int(assignee)
        self.assignee = assignee if valid else "anyone"
        self.overdue = args.get("overdue") == "1"
        self.at_risk = args.get("risk") == "1"
        self.tag = (args.get("tag") or "").strip()[:50]
        self.q = (args.get("q") or "").strip()[:200]
        self.sort = args.get("sort") if args.get("sort") in SORTS else "attention"
        self.after = (args.get("after") or "")[:80]
        self.before = (args.get("before") or "")[:80]

    def criteria(self):
        return QueueFilters(
            status=self.status,
            category_id=self.category,
            priority_id=self.priority,
            assignee=self.assignee,
            overdue=self.overdue,
            at_risk=self.at_risk,
            tag=self.tag,
            q=self.q,
            sort=self.sort,
            after=self.after,
            before=self.before,
        )

    def as_args(self, **changes):
        """The query string for these filters (defaults left out), with `changes` applied."""
        args = {
            "status": self.status,
            "category": self.category,
            "priority": self.priority,
            "assignee": self.assignee,
            "overdue": "1" if self.overdue else None,
            "risk": "1" if self.at_risk else None,
            "tag": self.tag,
            "q": self.q,
            "sort": self.sort,
        }
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None) and self.DEFAULTS.get(k) != v}


class CategoryForm(FlaskForm):
    name = StringField("Category name", validators=[InputRequired(), Length(max=MAX_NAME)])
    # Length is the service's rule (categories.clean_description: spacing folded first).
    description = StringField(
        "Description (optional)",
        validators=[Optional()],
        description="What belongs here, in a sentence: customers read it when they choose a category.",
    )


class CategoryRenameForm(CategoryForm):
    """A row's rename: the name, and the name's version the row showed (categories.versions)."""

    seen_change = HiddenField(validators=[Optional(), Length(max=18)])


class CategoryDescriptionForm(FlaskForm):
    description = StringField("Description", validators=[Optional()])
    seen_change = HiddenField(validators=[Optional(), Length(max=18)])


class ArchiveForm(FlaskForm):
    archived = HiddenField(validators=[AnyOf(["1", "0"])])


class RoundRobinForm(FlaskForm):  # issue 16 item 8: a category's round-robin on ("1") or off ("0")
    enabled = HiddenField(validators=[AnyOf(["1", "0"])])


class CalendarForm(FlaskForm):
    """A business calendar as typed: each weekday's spans as text, closed dates one per line."""

    category = HiddenField()
    # calendars.version_of when the form was shown: a save after someone else's is refused
    seen = HiddenField(validators=[Length(max=40)])
    timezone = SelectField("Time zone", validators=[InputRequired()], validate_choice=False)
    always_open = BooleanField("Open round the clock (24×7): ignore the hours below")
    day0 = StringField("Monday")
    day1 = StringField("Tuesday")
    day2 = StringField("Wednesday")
    day3 = StringField("Thursday")
    day4 = StringField("Friday")
    day5 = StringField("Saturday")
    day6 = StringField("Sunday")
    closures = TextAreaField("Closed dates", validators=[Length(max=20_000)])
    country = SelectField("Public holidays of", validate_choice=False)
    subdivision = StringField("Region (optional)", validators=[Length(max=10)])

    def days(self):
        return {weekday: getattr(self, f"day{weekday}").data or "" for weekday in range(7)}


class RemoveCalendarForm(FlaskForm):
    category = HiddenField(validators=[InputRequired()])


class VersionedForm(FlaskForm):
    """An inline edit: carries the ticket version the agent saw."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class StatusEditForm(VersionedForm):
    value = SelectField("Status", choices=STATUS_SELECT, validators=[InputRequired()])


class PriorityEditForm(VersionedForm):
    value = SelectField("Priority", coerce=db_int, validate_choice=False, validators=[InputRequired()])


class CategoryEditForm(VersionedForm):
    value = SelectField("Category", coerce=db_int, validate_choice=False, validators=[InputRequired()])


class AssigneeEditForm(VersionedForm):
    value = SelectField("Assignee", coerce=optional_db_int, validate_choice=False, validators=[Optional()])


class TagsEditForm(VersionedForm):
    value = StringField("Tags", validators=[Length(max=1100)], description="Separate tags with commas.")


EDIT_FORMS = {
    "status": StatusEditForm,
    "priority": PriorityEditForm,
    "category": CategoryEditForm,
    "assignee": AssigneeEditForm,
    "tags": TagsEditForm,
}


class AgentReplyForm(FlaskForm):
    body = TextAreaField("Message", validators=[InputRequired(), Length(max=50000)])
    attachments = MultipleFileField("Attach files", validators=[Optional()])  # checked by services.uploads
    action = StringField(validators=[AnyOf(("reply", "note", "resolve", "insert"))], default="reply")
    # Set when the form is rendered: a resent form (double click, retry) adds one message, not two.
    submission_key = HiddenField(validators=[Optional(), Length(max=64)])

    def ensure_key(self):
        if not self.submission_key.data:
            self.submission_key.data = new_submission_key()
        return self


class AgentNoteForm(FlaskForm):
    """The ticket page's internal-note box (prefix "note"), a form of its own beside the reply's:
    what it sends only agents see."""

    body = TextAreaField("Internal note", validators=[InputRequired(), Length(max=50000)])
    attachments = MultipleFileField("Attach files", validators=[Optional()])  # checked by services.uploads
    submission_key = HiddenField(validators=[Optional(), Length(max=64)])

    def ensure_key(self):
        if not self.submission_key.data:
            self.submission_key.data = new_submission_key()
        return self


class SubscriberForm(FlaskForm):
    email = EmailField(
        "Add subscriber by e-mail",
        validators=[InputRequired(), Email(), Length(max=320)],
        filters=[lambda value: value.strip() if value else value],
    )


UNASSIGN = "none"


class BulkForm(FlaskForm):
    selected = SelectMultipleField(validate_choice=False)
    action = StringField(validators=[AnyOf(ACTIONS, message="Choose an action.")])
    # "none" is the explicit "Nobody (unassign)"; an empty choice is no choice (the view refuses it).
    assignee = SelectField(
        "Assign to",
        coerce=lambda value: None if value in (None, "", UNASSIGN) else optional_db_int(value),
        validate_choice=False,
        validators=[Optional()],
    )
    status = SelectField("Set status", choices=STATUS_SELECT, validators=[Optional()])
    category = SelectField(
        "Move to category", coerce=optional_db_int, validate_choice=False, validators=[Optional()]
    )

    def selection(self):
        """[(ticket id, version seen)] from the checked rows, each ticket once (a hand-made request
        naming one twice had its second copy refused as changed by someone else); malformed
        values are dropped."""
        found = (SELECTED.match(v or "") for v in self.selected.data or [])
        chosen = {}
        for m in found:
            if m:
                chosen.setdefault(int(m.group(1)), int(m.group(2)))
        return list(chosen.items())

    def value(self):
        return {"assign": self.assignee.data, "status": self.status.data, "category": self.category.data}[
            self.action.data
        ]


class AgentNewTicketForm(FlaskForm):
    """A ticket an agent opens for a customer (phone, walk-in, forwarded mail)."""

    customer_email = EmailField(
        "Customer's e-mail",
        validators=[InputRequired(), Email(), Length(max=320)],
        filters=[lambda value: value.strip() if value else value],
    )
    customer_name = StringField(
        "Customer's name",
        validators=[Optional(), Length(max=200)],
        description="Only for a new customer: an address nobody uses yet gets an account with this name.",
    )
    category = SelectField("Category", coerce=optional_db_int, validators=[InputRequired()])
    priority = SelectField("Priority", coerce=db_int, validators=[InputRequired()])
    consent = BooleanField("The customer agreed to pay the priority's credits")
    subject = StringField("Subject", validators=[Filled(), Length(max=200)])
    body = TextAreaField(
        "What the customer needs",
        validators=[Filled(), Length(max=50000)],
        description="Markdown is supported. The customer gets it with the acknowledgement.",
    )
    submission_key = HiddenField(validators=[InputRequired(), Length(max=64)])


class MergeForm(FlaskForm):
    """ "Merge into": only the CSRF token is checked by WTForms (the number is read by the view)."""


# --- Saved views (issue 16) -----------------------------------------------------------------------
class SavedViewForm(FlaskForm):
    """A saved view's name (the service checks it: empty, too long, already used)."""

    name = StringField("View name")
