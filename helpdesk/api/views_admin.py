"""/api/v1/users and /organizations for admins: accounts, roles, deactivation, organizations and
technicians' categories, through the admin pages' services (api/people.py composes them). Like
the admin pages, every address here answers 404 to anyone but an admin."""

from flask import abort, url_for
from flask_login import current_user

from helpdesk.accounts import erasure, organizations
from helpdesk.accounts.models import Organization, User
from helpdesk.api import people, schemas
from helpdesk.api.answers import create, run, sent_fields
from helpdesk.api.blueprints import api
from helpdesk.api.routing import respond
from helpdesk.api.views_people import _admin_only, permissions_out, user_out
from helpdesk.api.views_tickets import named
from helpdesk.extensions import db

WRITE = ("people", "write")
KEYED = {"Idempotency-Key": (False, "Retries with the same key and body get the first answer.")}
NULLABLE = {"organization_id"}  # null takes a customer out of their organization


def _admin():
    _admin_only()
    return current_user._get_current_object()


def _user_or_404(user_id):
    return db.session.get(User, user_id) or abort(404)


def _organization_or_404(organization_id):
    return db.session.get(Organization, organization_id) or abort(404)


@api.route(
    "/users", "POST", summary="Create a user (admins)", tag="people", scope=WRITE, body=schemas.UserCreate,
    response=schemas.UserCreated, status=201, errors=(400, 404, 415, 422),
    headers={"Location": "The new user's address."}, request_headers=KEYED,
)  # fmt: skip
def create_user(body):
    """A customer, technician or admin (the seat limit asks `over_seat_limit`, as the admin pages
    ask for a confirmation), optionally in an organization (customers only)."""
    actor = _admin()

    def render(user):
        answer = schemas.UserCreated(created=True, user=user_out(user))
        return answer, 201, url_for("api.get_user", user_id=user.id)

    payload = body.model_dump()
    return create(lambda _key: people.create_user(actor, body), render, payload=payload)


@api.route(
    "/users/<int:user_id>", "PATCH", summary="Change a user (admins)", tag="people", scope=WRITE,
    body=schemas.UserChange, response=schemas.UserOut, errors=(400, 403, 404, 409, 415, 422),
)  # fmt: skip
def change_user(user_id, body):
    """Role, active (deactivating ends their sessions), organization and manager flag, name and
    e-mail, as one change: the last active admin stays, the seat limit asks `over_seat_limit`, a
    move out of another organization asks `move`; a refusal of any field changes none."""
    actor = _admin()
    user = _user_or_404(user_id)
    fields = sent_fields(body, nullable=NULLABLE)
    fields.update(over_seat_limit=body.over_seat_limit, move=body.move, new_password=body.new_password)
    run(people.change_user, actor, user, fields)
    return respond(user_out(_user_or_404(user_id)))


@api.route(
    "/users/<int:user_id>/erasure", "POST", summary="Erase a customer's personal data (admins)",
    tag="people", scope=WRITE, response=schemas.UserOut, errors=(403, 404),
)  # fmt: skip
def erase_user(user_id):
    """The right to erasure, as on the customer's admin page (accounts/erasure.py): the account
    is deactivated and anonymised for good, the text and files of the tickets they opened and of
    their messages elsewhere are erased, and what every other domain kept of them goes (README,
    docs/decisions.md). Answers the anonymised user. 403 for an agent (make them a customer first),
    for oneself and for an account already erased; it cannot be undone."""
    actor = _admin()
    user = _user_or_404(user_id)
    run(erasure.erase_customer, actor, user)
    return respond(user_out(_user_or_404(user_id)))


@api.route(
    "/users/<int:user_id>/permissions", "PUT", summary="Set a technician's categories (admins)",
    tag="people", scope=WRITE, body=schemas.PermissionsChange, response=schemas.Permissions,
    errors=(400, 404, 409, 415, 422),
)  # fmt: skip
def set_permissions(user_id, body):
    """Exactly these categories from now on, as the permission grid saves them (technicians only;
    each grant and revocation in the user's history)."""
    actor = _admin()
    run(people.set_permissions, actor, _user_or_404(user_id), set(body.category_ids))
    return respond(permissions_out(_user_or_404(user_id)))


@api.route(
    "/organizations", "POST", summary="Create an organization (admins)", tag="people", scope=WRITE,
    body=schemas.OrganizationIn, response=schemas.OrganizationCreated, status=201,
    errors=(400, 404, 415, 422), headers={"Location": "The new organization's address."},
    request_headers=KEYED,
)  # fmt: skip
def create_organization(body):
    """A new organization without members (add them with PATCH /users/{id}, organization_id)."""
    actor = _admin()

    def render(organization):
        answer = schemas.OrganizationCreated(created=True, organization=named(organization))
        return answer, 201, url_for("api.get_organization", organization_id=organization.id)

    return create(
        lambda _key: organizations.create_organization(actor, body.name), render, payload=body.model_dump()
    )


@api.route(
    "/organizations/<int:organization_id>", summary="An organization (admins)", tag="people",
    scope=("people", "read"), response=schemas.Named, errors=(404,),
)  # fmt: skip
def get_organization(organization_id):
    _admin_only()
    return respond(named(_organization_or_404(organization_id)))


@api.route(
    "/organizations/<int:organization_id>", "PATCH", summary="Rename an organization (admins)",
    tag="people", scope=WRITE, body=schemas.OrganizationIn, response=schemas.Named,
    errors=(400, 404, 409, 415, 422),
)  # fmt: skip
def rename_organization(organization_id, body):
    """Under the same name rules as a new one; members, tickets and bank stay with it."""
    actor = _admin()
    organization = _organization_or_404(organization_id)
    run(organizations.rename_organization, actor, organization, body.name)
    return respond(named(_organization_or_404(organization_id)))
