"""Account forms: shape checks only; the accounts service applies the rules."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from helpdesk.accounts.auth import MIN_PASSWORD_LENGTH, known_timezones


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=200)])
    remember = BooleanField("Remember me on this device")


class RegisterForm(FlaskForm):
    name = StringField("Your name", validators=[InputRequired(), Length(max=200)])
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
    plan = RadioField("Plan", coerce=int, validators=[Optional()])


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
    name = StringField("Your name", validators=[InputRequired(), Length(max=200)])
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
