"""Whether the app can serve: the database answers."""

from sqlalchemy import text

from helpdesk.extensions import db


def database_problem():
    """None when the database answers a trivial query, else a short reason (the session is reset)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the database is unusable
        db.session.rollback()
        return f"unavailable: {type(exc).__name__}"
    return None
