"""The branding form: shapes only; the rules (contrast, logo type and size) are the service's."""

from flask_wtf import FlaskForm
from wtforms import FileField, StringField
from wtforms.validators import Length, Optional


class BrandingForm(FlaskForm):
    name = StringField("Desk name", validators=[Optional(), Length(max=80)])
    accent = StringField("Accent colour", validators=[Optional(), Length(max=20)])
    logo = FileField("Logo", validators=[Optional()])


class RemoveLogoForm(FlaskForm):
    """The "Remove logo" button (CSRF only)."""
