"""Users, organizations and technicians' permissions (admins)."""

from typing import Annotated, Literal

from pydantic import Field

from helpdesk.accounts.models import ROLE_CUSTOMER, ROLES
from helpdesk.api.schemas.base import Created, Email, Id, Input, Named, Output, Title

Name = Title


class UserCreate(Input):
    """A new account. Without `password` it has none yet: its owner sets one through "Forgot
    your password?". `over_seat_limit` confirms an agent past AGENT_SEAT_LIMIT (the admin
    page's confirmation step)."""

    email: Email
    name: Name
    role: Literal[ROLES] = ROLE_CUSTOMER
    password: Annotated[str, Field(max_length=200)] | None = None
    organization_id: Id | None = None
    over_seat_limit: bool = False


class UserChange(Input):
    """The fields to change (each absent field stays as it is); `organization_id: null` takes a
    customer out of their organization. `move` confirms moving a customer out of another
    organization, `over_seat_limit` an agent past the seat limit (the admin pages' steps).
    `new_password` with a corrected `email`: the old address was not theirs, so the password (and
    two-step sign-in) chosen there is forgotten and the invitation goes to the new address."""

    name: Name | None = None
    email: Email | None = None
    role: Literal[ROLES] | None = None
    active: bool | None = None
    organization_id: Id | None = None
    is_org_manager: bool | None = None
    over_seat_limit: bool = False
    move: bool = False
    new_password: bool = False


class OrganizationIn(Input):
    """An organization's name (unique, ignoring case and spacing)."""

    name: Name


class PermissionsChange(Input):
    """Exactly the categories a technician works from now on (every other grant is revoked)."""

    category_ids: Annotated[list[Id], Field(max_length=500)]


class UserOut(Output):
    id: int
    name: str
    email: str
    role: str
    active: bool
    organization: Named | None
    is_org_manager: bool


class UserList(Output):
    items: list[UserOut]
    next: str | None


class OrganizationList(Output):
    items: list[Named]
    next: str | None


class UserCreated(Created):
    user: UserOut


class OrganizationCreated(Created):
    organization: Named


class Permissions(Output):
    user_id: int
    categories: list[Named]
