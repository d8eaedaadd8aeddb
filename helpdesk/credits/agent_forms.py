"""Agent credit forms: shape only; the time-entry service applies the rules."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional


class TimeEntryForm(FlaskForm):
    minutes = IntegerField("Minutes", validators=[InputRequired(), NumberRange(min=1, max=24 * 60)])
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class TimerStopForm(FlaskForm):
    note = StringField("Note for this time", validators=[Optional(), Length(max=500)])
