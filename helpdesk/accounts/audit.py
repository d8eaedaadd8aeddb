"""The administrative audit trail: append-only records of role, access and permission changes."""

from sqlalchemy import or_, select

from helpdesk.accounts.models import AuditEvent
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
