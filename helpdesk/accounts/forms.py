"""Account and people-admin forms: shape only; the accounts services apply the rules (uniqueness, seats, the last admin)."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import AnyOf, Email, EqualTo, InputRequired, Length, Optional

from helpdesk.accounts.auth import MIN_PASSWORD_LENGTH, known_timezones, normalise_email
from helpdesk.accounts.models import ROLE_CUSTOMER, ROLES
from helpdesk.accounts.organizations import MAX_NAME as MAX_ORG_NAME
from helpdesk.accounts.users import MAX_EMAIL, STATUS_FILTERS
from helpdesk.accounts.users import MAX_NAME as MAX_USER_NAME
from helpdesk.formfields import Filled, db_int, parse_id
from helpdesk.web import page_number


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=200)])
    remember = BooleanField("Remember me on this device")


class RegisterForm(FlaskForm):
    name = StringField("Your name", validators=[Filled(), Length(max=200)])
    email = EmailField(
        "E-mail", validators=[InputRequired(), Email(check_deliverability=False), Length(max=320)]
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "Repeat password", validators=[InputRequired(), EqualTo("password", message="The passwords differ.")]
    )
    # Filled in by app.js from the browser's settings; without JavaScript the account starts on UTC.
    timezone = HiddenField(validators=[Length(max=64)])

    # Self-service plans, filled in by the view (no field when none exist).
    plan = RadioField("Plan", coerce=db_int, validators=[Optional()])


class ResendConfirmationForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=320)])


class ConfirmAddressForm(FlaskForm):
    """No fields but the CSRF token: the signed link is in the URL (a POST, so mail scanners that
    open links do not confirm addresses)."""


class LoginCodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[InputRequired(), Length(max=40)],
        description="6 digits from the app, or one of your recovery codes (XXXX-XXXX-XXXX-XXXX).",
    )


class TwoFactorSetupForm(FlaskForm):
    secret = HiddenField(validators=[InputRequired(), Length(max=100)])
    code = StringField(
        "6-digit code from your app",
        validators=[InputRequired(), Length(max=20)],
        description="After adding the account to your app, type the code it shows now.",
    )


class TwoFactorActionForm(FlaskForm):
    """No fields but the CSRF token: turn two factors off, or make new recovery codes."""


class EraseForm(FlaskForm):
    """No fields but the CSRF token: erase a customer's personal data (a question comes first)."""


class ReauthForm(FlaskForm):
    """Confirm it's you: the password, or with two factors on, a code (validated by the service)."""

    reauth_password = PasswordField("Your password", validators=[Optional(), Length(max=200)])
    reauth_code = StringField(
        "Code from your authenticator app, or a recovery code", validators=[Optional(), Length(max=40)]
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[InputRequired()])
    new_password = PasswordField(
        "New password", validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[InputRequired(), EqualTo("new_password", message="The passwords differ.")],
    )


def timezone_choices():
    return [
        (name, name.replace("_", " ")) for name in sorted(known_timezones()) if "/" in name or name == "UTC"
    ]


class ProfileForm(FlaskForm):
    name = StringField("Your name", validators=[Filled(), Length(max=200)])
    timezone = SelectField("Time zone", description="Due times and dates are shown in this time zone.")


class ResetRequestForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=320)])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        "New password",
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[InputRequired(), EqualTo("new_password", message="The passwords differ.")],
    )


ROLE_LABELS = {"customer": "Customer", "technician": "Technician", "admin": "Admin"}


class OrganizationForm(FlaskForm):
    name = StringField("Organization name", validators=[InputRequired(), Length(max=MAX_ORG_NAME)])


class RenameOrganizationForm(OrganizationForm):
    """A row's rename: the name, and the name's version the row showed (organizations.name_versions)."""

    seen_change = HiddenField(validators=[Optional(), Length(max=18)])


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


class NewUserForm(FlaskForm):
    """A person an admin adds: they choose their password through the link mailed to them."""

    name = StringField("Name", validators=[Filled(), Length(max=MAX_USER_NAME)])
    email = EmailField(
        "E-mail",
        validators=[InputRequired(), Email(check_deliverability=False), Length(max=MAX_EMAIL)],
        description="They get a link there to choose their password.",
    )
    role = SelectField(
        "Role",
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES],
        default=ROLE_CUSTOMER,
        validators=[InputRequired()],
    )
    confirmed = BooleanField("I understand this goes over the seat limit")


class DetailsForm(FlaskForm):
    """A user's name and e-mail address, corrected by an admin. The address is checked like a new
    one only when it changes: an account made with one the check refuses (a `.local` address from
    `flask create-user`, say) can still have its name corrected."""

    name = StringField("Name", validators=[Filled(), Length(max=MAX_USER_NAME)])
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=MAX_EMAIL)])
    new_password = BooleanField("The old address was not theirs: they choose a new password at the new one")
    # users.details_version when the page was shown: a save after someone else's is refused
    seen_change = HiddenField(validators=[Optional(), Length(max=18)])

    def __init__(self, *args, current_email=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_email = current_email

    def validate_email(self, field):
        if normalise_email(field.data) != self.current_email:
            Email(check_deliverability=False)(self, field)


class PermissionsForm(FlaskForm):
    """The whole grid: `rows` lists the technicians shown, `perm` the checked "user:category" cells."""

    rows = SelectMultipleField(coerce=db_int, validate_choice=False)
    perm = SelectMultipleField(validate_choice=False)
    # permissions.grid_version of the rows shown: a save after someone else's change is refused
    seen_change = HiddenField(validators=[Optional(), Length(max=18)])

    def wanted_pairs(self):
        pairs = set()
        for value in self.perm.data or []:
            user_id, _, category_id = value.partition(":")
            if parse_id(user_id) and parse_id(category_id):
                pairs.add((parse_id(user_id), parse_id(category_id)))
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
