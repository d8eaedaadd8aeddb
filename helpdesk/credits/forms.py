"""Credit forms (portal upgrade, agent time entries, admin banks, plans and tariffs): shape only; the credit services apply the rules."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.formfields import Filled, IntegerField, db_int


class UpgradePriorityForm(FlaskForm):
    priority = RadioField("New priority", coerce=db_int, validators=[InputRequired()])


class TimeEntryForm(FlaskForm):
    minutes = IntegerField("Minutes", validators=[InputRequired(), NumberRange(min=1, max=24 * 60)])
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class EditTimeForm(TimeEntryForm):
    """An entry's edit: its minutes and note, and the entry's `revision` the panel showed."""

    revision = HiddenField(validators=[Optional(), Length(max=9)])


class LogTimeForm(TimeEntryForm):
    """The panel's "Log time": its submission key, made when the form is shown, logs (and charges)
    one form's minutes once, however often it is sent."""

    submission_key = HiddenField(validators=[InputRequired(), Length(max=64)])


class TimerStopForm(FlaskForm):
    minutes = IntegerField("Minutes to charge", validators=[Optional(), NumberRange(min=1, max=24 * 60)])
    note = StringField("Note for this time", validators=[Optional(), Length(max=500)])


class AdjustForm(FlaskForm):
    amount = IntegerField(
        "Credits",
        validators=[InputRequired(), NumberRange(min=-1_000_000, max=1_000_000)],
        description="Positive grants credits, negative deducts them.",
    )
    reason = StringField("Reason", validators=[Filled(), Length(max=400)])
    # Made when the form is shown and carried through the confirmation: one form books once.
    submission_key = HiddenField(validators=[InputRequired(), Length(max=64)])


class MovePlanForm(FlaskForm):
    plan = SelectField("Plan", coerce=db_int, validators=[InputRequired()])


class OpenBankForm(FlaskForm):
    email = EmailField("Customer e-mail", validators=[Optional(), Length(max=320)])
    organization = StringField("or organization name", validators=[Optional(), Length(max=200)])
    plan = SelectField("Plan", coerce=db_int, validators=[InputRequired()])


class TariffForm(FlaskForm):
    # credits.plans.settings_version when the form was shown: a save after someone else's is refused
    seen_change = HiddenField(validators=[Optional(), Length(max=12)])
    credit_cost = IntegerField(
        "Price (credits)", validators=[InputRequired(), NumberRange(min=0, max=1_000_000)]
    )
    response_minutes = IntegerField(
        "Response target (minutes)", validators=[InputRequired(), NumberRange(min=1, max=525_600)]
    )
    resolution_minutes = IntegerField(
        "Resolution target (minutes, optional)", validators=[Optional(), NumberRange(min=1, max=5_256_000)]
    )
    round_the_clock = BooleanField("Targets run round the clock (24×7), not on business hours")
    resolution_refund_percent = IntegerField(
        "Refund if resolved late (%)", default=0, validators=[Optional(), NumberRange(min=0, max=100)]
    )


class PlanForm(FlaskForm):
    # credits.plans.settings_version when the form was shown: a save after someone else's is refused
    seen_change = HiddenField(validators=[Optional(), Length(max=12)])
    name = StringField("Name", validators=[Filled(), Length(max=100)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    priorities = SelectMultipleField(
        "Priorities offered",
        coerce=db_int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    credits_enabled = BooleanField("Credits enabled")
    signup_grant = IntegerField("Sign-up grant", validators=[InputRequired(), NumberRange(min=0)])
    monthly_allowance = IntegerField("Monthly allowance", validators=[InputRequired(), NumberRange(min=0)])
    rollover_cap = IntegerField(
        "Rollover cap", validators=[Optional(), NumberRange(min=0)], description="Empty: no cap."
    )
    billing_mode = SelectField(
        "Billing mode", choices={"priority": "Per ticket priority", "time": "Per minute"}
    )
    minute_rate = IntegerField(
        "Credits per minute (time mode)", validators=[InputRequired(), NumberRange(min=1)]
    )
    overdraft_floor = IntegerField("Overdraft floor", validators=[InputRequired(), NumberRange(max=0)])
    thresholds = StringField(
        "Low-balance thresholds",
        validators=[Optional(), Length(max=200)],
        description="In order, comma-separated: 25% (of the last top-up), cheapest (paid priority), or credits.",
    )
    guarantee = BooleanField("Response-target guarantee")
    self_service = BooleanField(
        "Self-service: customers may pick it at registration and switch to it themselves"
    )
    subscription_price = StringField(
        "Stripe price of a monthly card subscription",
        validators=[
            Optional(),
            Length(max=255),
            Regexp(r"^price_\w+$", message="A Stripe price id starts with price_, e.g. price_1Q2w3E."),
        ],
        description="Customers can then subscribe to the plan at /billing/; each paid invoice grants its "
        "monthly allowance. Empty: not sold by subscription.",
    )
    subscription_fallback = SelectField(
        "When a subscription ends, move the bank to", coerce=db_int, default=0, validate_choice=False
    )


class MemberCapForm(FlaskForm):
    """A manager's monthly limit for one member; empty removes it."""

    monthly_cap = IntegerField(
        "Monthly limit (credits)",
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
        description="Empty: no limit.",
    )


class AskManagerForm(FlaskForm):
    """A member's request to their managers, from the billing page."""

    amount = IntegerField("Credits needed", validators=[InputRequired(), NumberRange(min=1, max=1_000_000)])
    subject = StringField("What for (optional)", validators=[Optional(), Length(max=200)])
