"""What the knowledge base keeps of a customer whose personal data an admin erased
(events.personal_data_erased; docs/decisions.md, "Erasing a customer's personal data")."""

from sqlalchemy import update

from helpdesk.extensions import db
from helpdesk.kb.models import Vote


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that their "Was this helpful?" votes keep their
    yes or no (the articles' counts) without the comments they wrote. Flushes only."""
    db.session.execute(
        update(Vote).where(Vote.user_id == user.id).values(comment=None),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
