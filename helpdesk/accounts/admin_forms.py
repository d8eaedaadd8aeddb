"""Admin forms: shape only. The services decide uniqueness, seats and the last-admin rule."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import AnyOf, InputRequired, Length

from helpdesk.accounts.models import ROLES
from helpdesk.accounts.organizations import MAX_NAME as MAX_ORG_NAME
from helpdesk.accounts.users import STATUS_FILTERS
from helpdesk.tickets.categories import MAX_NAME
from helpdesk.web import page_number

ROLE_LABELS = {"customer": "Customer", "technician": "Technician", "admin": "Admin"}


class CategoryForm(FlaskForm):
    name = StringField("Category name", validators=[InputRequired(), Length(max=MAX_NAME)])


class ArchiveForm(FlaskForm):
    archived = HiddenField(validators=[AnyOf(["1", "0"])])


class OrganizationForm(FlaskForm):
    name = StringField("Organization name", validators=[InputRequired(), Length(max=MAX_ORG_NAME)])


class MemberForm(FlaskForm):
    email = EmailField("Customer e-mail", validators=[InputRequired(), Length(max=320)])
    confirmed = BooleanField("Move them from their current organization")


class ManagerForm(FlaskForm):
    manager = HiddenField(validators=[AnyOf(["1", "0"])])


class RemoveMemberForm(FlaskForm):
    """No fields but the CSRF token: the member is in the URL."""


class RoleForm(FlaskForm):
    role = SelectField(
        "Role", choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES], validators=[InputRequired()]
    )
    confirmed = BooleanField("I understand this goes over the seat limit")


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["1", "0"])])
    confirmed = BooleanField("I understand this goes over the seat limit")


class PermissionsForm(FlaskForm):
    """The whole grid: `rows` lists the technicians shown, `perm` the checked "user:category" cells."""

    rows = SelectMultipleField(coerce=int, validate_choice=False)
    perm = SelectMultipleField(validate_choice=False)

    def wanted_pairs(self):
        pairs = set()
        for value in self.perm.data or []:
            user_id, _, category_id = value.partition(":")
            if user_id.isdigit() and category_id.isdigit():
                pairs.add((int(user_id), int(category_id)))
        return pairs


class UserFilter:
    """Query-string filters of the users page (GET, bookmarkable)."""

    def __init__(self, args):
        self.q = (args.get("q") or "").strip()[:200]
        self.role = args.get("role") if args.get("role") in ROLES else ""
        self.status = args.get("status") if args.get("status") in STATUS_FILTERS else "all"
        self.page = page_number(args)

    def as_args(self, **changes):
        args = {"q": self.q, "role": self.role, "status": self.status, "page": self.page}
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None)}


class SearchFilter:
    """A name search and page number from the query string (GET, bookmarkable)."""

    def __init__(self, args):
        self.q = (args.get("q") or "").strip()[:200]
        self.page = page_number(args)

    def as_args(self, **changes):
        args = {"q": self.q, "page": self.page if self.page > 1 else None, **changes}
        return {k: v for k, v in args.items() if v not in ("", None)}
