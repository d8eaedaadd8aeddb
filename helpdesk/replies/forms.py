"""Forms of the saved-reply pages."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from helpdesk.formfields import Filled
from helpdesk.replies.models import BODY_MAX, TITLE_MAX

PERSONAL = "personal"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SavedReplyForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[Filled("Give the saved reply a title."), Length(max=TITLE_MAX)],
        filters=[_strip],
    )
    body = TextAreaField(
        "Text",
        validators=[Filled("Write the text to insert."), Length(max=BODY_MAX)],
        description="Placeholders are filled in when the reply is inserted.",
    )
    scope = SelectField("Who may use it", validate_choice=True, default=PERSONAL)
    # service.version_of the reply when its edit page was shown: a save after someone else's is refused
    seen = HiddenField(validators=[Optional(), Length(max=40)])

    def set_scopes(self, categories):
        """'Only me', and each category the agent may share in."""
        self.scope.choices = [(PERSONAL, "Only me")] + [
            (str(c.id), f"Everyone working {c.name}") for c in categories
        ]

    def category_id(self):
        return None if self.scope.data == PERSONAL else int(self.scope.data)


class ActionForm(FlaskForm):
    """A button's form: only the CSRF token."""
