"""The branding form: shapes only; the rules (contrast, logo type and size) are the service's."""

from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, StringField
from wtforms.validators import Length, Optional


class BrandingForm(FlaskForm):
    # settings.version_of when the page was shown: a save after someone else's is refused
    seen = HiddenField(validators=[Optional(), Length(max=40)])
    name = StringField("Desk name", validators=[Optional(), Length(max=80)])
    accent = StringField("Accent colour", validators=[Optional(), Length(max=20)])
    logo = FileField("Logo", validators=[Optional()])


class RemoveLogoForm(FlaskForm):
    """The "Remove logo" button (CSRF only)."""
