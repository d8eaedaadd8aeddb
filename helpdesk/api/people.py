"""Services the API composes from the accounts domain's own for its people endpoints (admins): a
new user, several fields of a user changed at once, a technician's categories. No rule is
decided here: each step is the service the admin pages (or `flask create-user`) call, so the
last admin, the seat limit, moves between organizations and the history work as they do there.
The admin pages' confirmation steps become flags of the body (`over_seat_limit`, `move`)."""

from helpdesk.accounts import organizations, permissions, users
from helpdesk.accounts.models import Organization
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import categories


class FieldRefused(ValidationFailed):
    """A rule refused the value of one field of the body (answered with that field's name)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


CONFIRMATIONS = {
    users.SeatLimitConfirmationNeeded: ("over_seat_limit", " Send over_seat_limit: true to go ahead."),
    organizations.MoveConfirmationNeeded: ("move", " Send move: true to go ahead."),
}


def _confirming(step, *args, **kwargs):
    """Run `step`; a confirmation the admin pages would ask for answers as the flag to send."""
    try:
        return step(*args, **kwargs)
    except tuple(CONFIRMATIONS) as exc:
        field, hint = CONFIRMATIONS[type(exc)]
        raise FieldRefused(field, str(exc) + hint) from exc


def organization(organization_id):
    found = db.session.get(Organization, organization_id)
    if found is None:
        raise FieldRefused("organization_id", "There is no organization with this id.")
    return found


def create_user(actor, fields):
    """An account (users.create_user: the role's audit entry and the seat check), in the given
    organization (organizations.add_member: customers only)."""
    user = _confirming(
        users.create_user,
        fields.email,
        fields.name,
        fields.password,
        fields.role,
        actor=actor,
        confirmed=fields.over_seat_limit,
    )
    if fields.organization_id is not None:
        organizations.add_member(actor, organization(fields.organization_id), user.email)
    return user


def change_user(actor, user, fields):
    """Apply `fields` (only those sent) in the admin pages' order: role, active, organization,
    manager flag, name and e-mail. One transaction: a refusal of any field changes none.
    Returns whether anything changed."""
    changed = False
    if "role" in fields:
        changed |= bool(  # False, or users.Changed (true, with the tickets it released)
            _confirming(users.change_role, actor, user, fields["role"], confirmed=fields["over_seat_limit"])
        )
    if "active" in fields:
        changed |= bool(
            _confirming(users.set_active, actor, user, fields["active"], confirmed=fields["over_seat_limit"])
        )
    if "organization_id" in fields:
        changed |= _set_organization(actor, user, fields["organization_id"], fields["move"])
    if "is_org_manager" in fields:
        if user.organization is None:
            raise FieldRefused("is_org_manager", f"{user.name} belongs to no organization.")
        changed |= organizations.set_manager(actor, user.organization, user, fields["is_org_manager"])
    if "name" in fields or "email" in fields:
        changed |= bool(
            users.change_details(
                actor,
                user,
                name=fields.get("name"),
                email=fields.get("email"),
                new_password=fields.get("new_password", False),
            )
        )
    return changed


def _set_organization(actor, user, organization_id, move):
    if organization_id is None:
        if user.organization is None:
            return False
        organizations.remove_member(actor, user.organization, user)
        return True
    _user, changed = _confirming(
        organizations.add_member, actor, organization(organization_id), user.email, confirmed=move
    )
    return changed


def set_permissions(actor, user, category_ids):
    """Make the technician's grants exactly `category_ids`, one permissions.set_permission per
    category (the grid's cell: technicians only, each change in the history)."""
    every = categories.all_categories()
    unknown = set(category_ids) - {c.id for c in every}
    if unknown:
        raise FieldRefused("category_ids", f"No category has the id {min(unknown)}.")
    for category in every:
        permissions.set_permission(actor, user, category, category.id in category_ids)
    return user
