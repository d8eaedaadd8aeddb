"""The one way a view writes: call a service, commit, or roll back and hand back the domain error.

Services only flush; the view that called one commits through `perform`, so every write view
has the same shape (indico's RH._process): success commits once, a DomainError (a rule said no)
leaves nothing behind and comes back for the view to show next to what caused it.
"""

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from helpdesk.errors import CONFLICT_TEXT, ConcurrentChange, DomainError, is_conflict
from helpdesk.extensions import db


@dataclass(frozen=True)
class Outcome:
    """What a service call came to: its return value, or the DomainError that refused it."""

    value: object = None
    error: DomainError | None = None

    @property
    def ok(self):
        return self.error is None

    @property
    def message(self):
        return str(self.error) if self.error is not None else ""


def perform(service, *args, **kwargs):
    """Call `service(*args, **kwargs)` and commit; on a DomainError roll back and return it.

    A lost race in the database (deadlock, serialization failure, lock timeout) comes back as
    ConcurrentChange, a StaleUpdate: views answer it like any stale edit (409 without htmx)."""
    try:
        value = service(*args, **kwargs)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return Outcome(error=exc)
    except DBAPIError as exc:
        db.session.rollback()
        if not is_conflict(exc):
            raise
        return Outcome(error=ConcurrentChange(CONFLICT_TEXT))
    return Outcome(value=value)
