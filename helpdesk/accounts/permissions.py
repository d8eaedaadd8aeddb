"""Technician-by-category permissions: which technicians see and work which categories' tickets."""

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from helpdesk import events
from helpdesk.accounts import audit
from helpdesk.accounts.models import (
    AGENT_ROLES,
    AUDIT_PERMISSION,
    ROLE_TECHNICIAN,
    AuditEvent,
    CategoryPermission,
    User,
)
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import lock_row


@dataclass(frozen=True)
class GridChange:
    granted: int
    revoked: int
    stopped_timers: tuple = ()  # credits.time_entries.TimerEnding: running timers a revocation stopped


@dataclass(frozen=True)
class PermissionChanged:
    """A saved grant or revocation (always true), and the running timers of the technician's that
    a revocation stopped and charged (credits.time_entries.TimerEnding: each says what was done)."""

    stopped_timers: tuple = ()

    def __bool__(self):
        return True


def technician_query():
    """A SELECT of every technician (deactivated ones too: their grants return with them), by name."""
    return select(User).where(User.role == ROLE_TECHNICIAN).order_by(func.lower(User.name), User.id)


def granted_pairs(user_ids):
    """The (user_id, category_id) grants of these users, in one query."""
    if not user_ids:
        return set()
    rows = db.session.execute(
        select(CategoryPermission.user_id, CategoryPermission.category_id).where(
            CategoryPermission.user_id.in_(user_ids)
        )
    )
    return {(u, c) for u, c in rows}


def _changes_of(user_ids):
    """The audit entries that are the versions of these technicians' grants."""
    return (AuditEvent.kind == AUDIT_PERMISSION, AuditEvent.target_user_id.in_(list(user_ids) or [0]))


def grid_version(user_ids):
    """What the whole-grid form of these technicians carries: the id of the latest grant or
    revocation of any of them (0: none)."""
    return audit.version(*_changes_of(user_ids))


def grid_version_after(seen, user_ids, user, category):
    """The grid's new version when the one change of `user_ids`' grants since `seen` is the cell
    (`user`, `category`) just saved: a page whose grid showed `seen` now shows that. None when
    something else changed too (the grid's own save is then refused as stale, as it should be)."""
    if seen is None or user.id not in set(user_ids):
        return None
    since = audit.changes_since(seen, *_changes_of(user_ids))
    if len(since) == 1 and (since[0].target_user_id, since[0].category_id) == (user.id, category.id):
        return since[0].id
    return None


def cells_after(wanted, changes):
    """(granted pairs, {pair: its latest change}) of a grid saved after `changes` (audit rows of
    grants and revocations made since it was shown): each changed cell as it is stored now, every
    other cell as `wanted`. The changed cells keep the order in which they were first changed."""
    latest = {}
    for change in changes:
        latest[(change.target_user_id, change.category_id)] = change
    granted = set(wanted)
    for pair, change in latest.items():
        (granted.add if change.new_value == "granted" else granted.discard)(pair)
    return granted, latest


def _require_technician(user):
    if user.role != ROLE_TECHNICIAN:
        raise ValidationFailed(
            f"{user.name} is not a technician; only technicians have category permissions."
        )


def set_permission(actor, user, category, granted):
    """Grant or revoke one technician's access to one category. Guarantees: only technicians;
    idempotent (granting twice, even concurrently, leaves one grant); every change in history;
    a revocation unassigns their open tickets of the category and stops their timers there.
    Returns a PermissionChanged (true) when something changed, else False. The technician's row
    is locked until commit, so a whole-grid save checking their grants takes turns with this."""
    lock_row(user)
    _require_technician(user)
    exists = db.session.scalar(
        select(CategoryPermission.id).where(
            CategoryPermission.user_id == user.id, CategoryPermission.category_id == category.id
        )
    )
    if granted and exists is None:
        try:
            with db.session.begin_nested():
                db.session.add(CategoryPermission(user_id=user.id, category_id=category.id))
                db.session.flush()
        except IntegrityError:
            return False  # granted by a concurrent request
    elif not granted and exists is not None:
        db.session.execute(delete(CategoryPermission).where(CategoryPermission.id == exists))
    else:
        return False
    audit.record(
        actor,
        AUDIT_PERMISSION,
        user=user,
        category=category,
        old="revoked" if granted else "granted",
        new="granted" if granted else "revoked",
    )
    db.session.expire(user, ["category_permissions", "granted_category_csv"])
    db.session.flush()
    if not granted:  # their open tickets of that category go back to Unassigned, their timers there stop
        results = events.agent_access_reduced.send(user=user, actor=actor)
        return PermissionChanged(tuple(t for r in results if isinstance(r, tuple) for t in r))
    return PermissionChanged()


def replace_permissions(actor, users, categories, wanted, seen=None):
    """Make the grants of `users` over `categories` exactly `wanted` (a set of (user_id,
    category_id)); grants outside those users and categories are untouched. Non-technicians are
    skipped. Returns how many grants were added and removed. `seen`: the grid_version of `users`
    the form was opened at (AuditStale, nothing saved, when any of their grants changed since;
    None: not checked)."""
    for user in sorted(users, key=lambda u: u.id):  # one order: two grid saves cannot deadlock
        lock_row(user)
    audit.check_seen(seen, *_changes_of(u.id for u in users))
    users = [u for u in users if u.role == ROLE_TECHNICIAN]
    current = granted_pairs([u.id for u in users])
    granted = revoked = 0
    stopped = ()
    for user in users:
        for category in categories:
            pair = (user.id, category.id)
            if (pair in wanted) != (pair in current):
                changed = set_permission(actor, user, category, pair in wanted)
                stopped += getattr(changed, "stopped_timers", ())
                if pair in wanted:
                    granted += 1
                else:
                    revoked += 1
    return GridChange(granted=granted, revoked=revoked, stopped_timers=stopped)


CATEGORY_AGENTS = (  # every new ticket asks (its mail): built once
    select(User)
    .join(CategoryPermission, CategoryPermission.user_id == User.id)
    .where(
        CategoryPermission.category_id == bindparam("category_id"),
        User.role.in_(AGENT_ROLES),
        User.active.is_(True),
    )
    .order_by(User.id)
)


def category_agents(category_id):
    """Active agents granted a category (admins only if granted it explicitly), by id."""
    return db.session.scalars(CATEGORY_AGENTS, {"category_id": category_id}).all()
