"""Helpers for the agent console tests (the `desk` fixture is in tests/functional/conftest.py)."""

from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket


def fresh(ticket_id):
    """The ticket as the database has it now."""
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


HTMX = {"HX-Request": "true"}
