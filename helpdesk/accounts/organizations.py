"""Organizations (companies): names, members and managers, with every change in the audit trail.

A customer belongs to at most one organization; moving one from another organization needs an
explicit confirmation (MoveConfirmationNeeded). Agents never belong to one. Leaving an
organization always drops the manager flag, so a former manager keeps no view of its tickets.
Tickets keep the organization they were filed under.
"""

from sqlalchemy import func, select

from helpdesk import events, names
from helpdesk.accounts import audit
from helpdesk.accounts.auth import find_user_by_email
from helpdesk.accounts.models import (
    AUDIT_ORG_MANAGER,
    AUDIT_ORG_MEMBER,
    AUDIT_ORGANIZATION,
    AuditEvent,
    Organization,
    User,
)
from helpdesk.errors import DomainError, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import escape_like, lock_row

MAX_NAME = 200


class MoveConfirmationNeeded(DomainError):
    """Joining changes more than membership: the customer belongs to another organization (`current`),
    or other domains have something the admin must read first (`notes`: their own credits, which the
    organization's shared bank hides). The admin must confirm first."""

    def __init__(self, user, current, notes=()):
        self.user = user
        self.current = current
        self.notes = tuple(notes)
        said = []
        if current is not None:
            said.append(
                f"{user.name} ({user.email}) belongs to {current.name}. Moving them takes them out of "
                f"{current.name}; their existing tickets stay with {current.name}."
            )
        super().__init__(" ".join(said + list(self.notes)))


def organization_list(q=""):
    """A SELECT of organizations whose name contains `q` (any case), by name."""
    query = select(Organization)
    if q:
        query = query.where(func.lower(Organization.name).like(f"%{escape_like(q.lower())}%", escape="\\"))
    return query.order_by(func.lower(Organization.name), Organization.id)


def member_counts(organization_ids):
    """Members per organization for these ids, in one grouped query (none: 0)."""
    counts = dict.fromkeys(organization_ids, 0)
    if organization_ids:
        rows = db.session.execute(
            select(User.organization_id, func.count(User.id))
            .where(User.organization_id.in_(organization_ids))
            .group_by(User.organization_id)
        )
        counts.update(dict(rows.all()))
    return counts


def member_query(organization):
    """A SELECT of the organization's members: managers first, then by name."""
    return (
        select(User)
        .where(User.organization_id == organization.id)
        .order_by(User.is_org_manager.desc(), func.lower(User.name), User.id)
    )


def _clean_name(name, *, exclude_id=None):
    return names.clean_unique_name(
        Organization, name, noun="organization", max_length=MAX_NAME, exclude_id=exclude_id
    )


def _save_name(item, name):
    names.save_unique_name(item, name, noun="organization")


def create_organization(actor, name):
    """A new organization without members. Guarantees: a non-empty name, unique ignoring case and spacing."""
    name = _clean_name(name)
    organization = Organization()
    _save_name(organization, name)
    audit.record(actor, AUDIT_ORGANIZATION, old=None, new=f"created {name}")
    db.session.flush()
    return organization


def name_versions(organizations):
    """{organization id: its name's version} (audit.naming_version, one query for a page): what
    each row's rename form carries, so a rename from a row shown before someone else's rename of
    the same organization is refused (audit.AuditStale) instead of silently replacing it."""
    by_value = {}
    for org in organizations:
        by_value[org.name] = by_value[f"created {org.name}"] = org.id
    rows = db.session.execute(
        select(AuditEvent.new_value, func.max(AuditEvent.id))
        .where(AuditEvent.kind == AUDIT_ORGANIZATION, AuditEvent.new_value.in_(list(by_value) or [""]))
        .group_by(AuditEvent.new_value)
    )
    versions = dict.fromkeys((org.id for org in organizations), 0)
    for value, latest in rows:
        versions[by_value[value]] = max(versions[by_value[value]], latest)
    return versions


def rename_organization(actor, organization, name, seen=None):
    """Rename an organization under the same name rules; members, tickets and bank stay with it.
    `seen`: the name's version the form showed (AuditStale, nothing saved, when it was renamed
    since; None: not checked)."""
    lock_row(organization)
    audit.check_name_seen(seen, AUDIT_ORGANIZATION, organization.name)
    old = organization.name
    name = _clean_name(name, exclude_id=organization.id)
    if name == old:
        return organization
    _save_name(organization, name)
    audit.record(actor, AUDIT_ORGANIZATION, old=old, new=name)
    db.session.flush()
    return organization


def _locked_user(user_id):
    """The user row, locked until the transaction ends (two admins moving one customer serialise)."""
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    return db.session.get(User, user_id, populate_existing=True)


def add_member(actor, organization, email, *, confirmed=False):
    """Put the customer with this e-mail into `organization`; returns (user, changed).

    Guarantees: only existing customers join (agents are refused); a customer of another
    organization, or one whose joining other domains warn of (events.customer_joining: their own
    bank's credits, which the shared bank hides), joins only when `confirmed`, else
    MoveConfirmationNeeded saying all of it and nothing changes; a moved customer is no longer a
    manager anywhere. Adding a member again changes nothing.
    """
    found = find_user_by_email(email or "")
    if found is None:
        raise ValidationFailed("No customer has this e-mail address.")
    user = _locked_user(found.id)
    if user.is_agent:
        raise ValidationFailed(
            f"{user.name} is an agent: only customers belong to organizations. Change their role first."
        )
    if user.organization_id == organization.id:
        return user, False
    previous = user.organization
    if not confirmed:
        notes = [n for n in events.customer_joining.send(user=user, organization=organization) if n]
        if previous is not None or notes:
            raise MoveConfirmationNeeded(user, previous, notes)
    user.organization = organization
    user.is_org_manager = False
    audit.record(
        actor, AUDIT_ORG_MEMBER, user=user, old=previous.name if previous else None, new=organization.name
    )
    db.session.flush()
    return user, True


def member_or_404(organization, user_id):
    """The member `user_id` of `organization`; NotFound when they are not (or no longer) in it."""
    user = db.session.get(User, user_id)
    if user is None or user.organization_id != organization.id:
        raise NotFound("This person is not a member of the organization.")
    return user


def remove_member(actor, organization, user):
    """Take `user` out of `organization` (and drop their manager flag); their tickets stay with it."""
    user = _locked_user(user.id)
    if user.organization_id != organization.id:
        raise NotFound("This person is not a member of the organization.")
    user.organization = None
    user.is_org_manager = False
    audit.record(actor, AUDIT_ORG_MEMBER, user=user, old=organization.name, new=None)
    db.session.flush()
    return user


def set_manager(actor, organization, user, manager):
    """Make a member a manager (sees all the organization's tickets) or a plain member again.

    An organization may have any number of managers. Returns True when something changed.
    """
    user = _locked_user(user.id)
    if user.organization_id != organization.id:
        raise NotFound("This person is not a member of the organization.")
    if user.is_org_manager == bool(manager):
        return False
    user.is_org_manager = bool(manager)
    audit.record(
        actor,
        AUDIT_ORG_MANAGER,
        user=user,
        old=f"{'member' if manager else 'manager'} of {organization.name}",
        new=f"{'manager' if manager else 'member'} of {organization.name}",
    )
    db.session.flush()
    return True


def last_manager_of(user):
    """The organization `user` is the only active manager of (None when they are not a manager,
    or another active manager remains): without them, its members' "Ask a manager for credits"
    has nobody to ask."""
    if not (user.is_org_manager and user.organization_id and user.active):
        return None
    others = db.session.scalar(
        select(func.count(User.id)).where(
            User.organization_id == user.organization_id,
            User.is_org_manager.is_(True),
            User.active.is_(True),
            User.id != user.id,
        )
    )
    return None if others else user.organization


def no_manager_warning(organization):
    """The sentence a question shows before `organization` loses its last manager."""
    return (
        f"{organization.name} will have no manager: nobody sees all its tickets or buys for its "
        "shared bank, and members who ask a manager for credits will have nobody to ask."
    )
