"""The administrative audit trail: append-only records of role, access and permission changes.

Its latest entry about something is also the version a form saw of it (`version`): a save from a
form opened before someone else's change is refused (AuditStale, naming the changes), as plans
and tariffs are with their own change log, so two admins cannot silently undo each other."""

from sqlalchemy import func, or_, select

from helpdesk.accounts.models import AuditEvent
from helpdesk.errors import StaleUpdate
from helpdesk.extensions import db


def record(actor, kind, *, user=None, category=None, old=None, new=None):
    """Append one audit entry in the caller's transaction (who, when, what changed)."""
    db.session.add(
        AuditEvent(
            actor_id=actor.id if actor else None,
            target_user_id=user.id if user else None,
            category_id=category.id if category else None,
            kind=kind,
            old_value=None if old is None else str(old)[:200],
            new_value=None if new is None else str(new)[:200],
        )
    )


class AuditStale(StaleUpdate):
    """The form was opened before someone else's recorded change of the same thing: nothing was
    saved. `changes` are the AuditEvents recorded since, oldest first (the view names them)."""

    def __init__(self, changes):
        super().__init__("Someone else changed this after you opened the form: nothing was saved.")
        self.changes = changes


def version(*about):
    """The id of the latest entry matching the conditions `about` (0: none). A form carries it and
    hands it back, so a save can tell whether it still edits what the form showed."""
    return db.session.scalar(select(func.max(AuditEvent.id)).where(*about)) or 0


def check_seen(seen, *about):
    """Raise AuditStale when an entry matching `about` was recorded after `seen` (the version the
    form was opened at; None, a form or a script without one, is not checked). The caller locks
    the rows it is about to change first, so two saves of them take turns."""
    if seen is None or version(*about) <= seen:
        return
    raise AuditStale(changes_since(seen, *about))


def changes_since(seen, *about):
    """The entries matching `about` recorded after version `seen`, oldest first."""
    query = select(AuditEvent).where(AuditEvent.id > seen, *about).order_by(AuditEvent.id)
    return db.session.scalars(query).all()


def naming_version(kind, name, *about):
    """The version of a name: the id of the entry of `kind` that gave it (a rename to `name`, or
    "created `name`"; 0: none recorded). Another entry of the same kind (an archive, a switch)
    leaves it, so a rename form is refused only for a rename made since it was opened."""
    named = AuditEvent.new_value.in_([name, f"created {name}"])
    return version(AuditEvent.kind == kind, named, *about)


def check_name_seen(seen, kind, name, *about):
    """Raise AuditStale (naming the rename) when the name now stored was given after the form
    showing version `seen` was opened (None: not checked)."""
    current = naming_version(kind, name, *about)
    if seen is None or current == seen:
        return
    raise AuditStale([db.session.get(AuditEvent, current)] if current else [])


def user_history(user):
    """A SELECT of the entries about `user` (as the target or the actor), newest first."""
    return (
        select(AuditEvent)
        .where(or_(AuditEvent.target_user_id == user.id, AuditEvent.actor_id == user.id))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )


def category_history(category):
    """A SELECT of the entries about `category`, newest first."""
    return (
        select(AuditEvent)
        .where(AuditEvent.category_id == category.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
