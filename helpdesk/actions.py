"""The one way a view writes: call a service, commit, or roll back and hand back the domain error.

Services only flush; the view that called one commits through `perform`, so every write view
has the same shape (indico's RH._process): success commits once, a DomainError (a rule said no)
leaves nothing behind and comes back for the view to show next to what caused it.
"""

from dataclasses import dataclass

from helpdesk.errors import DomainError
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
    """Call `service(*args, **kwargs)` and commit; on a DomainError roll back and return it."""
    try:
        value = service(*args, **kwargs)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return Outcome(error=exc)
    return Outcome(value=value)
