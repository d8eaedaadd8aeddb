"""Users, organizations and technicians' categories written through the API (admins): the admin
pages' services, so the last admin, the seat limit, moves between organizations and the
history hold as they do there; 404 for everyone else, like /admin."""

import pytest
from sqlalchemy import select

from helpdesk.accounts import organizations
from helpdesk.accounts.models import AuditEvent, Organization, User
from helpdesk.accounts.seats import seat_usage
from helpdesk.api.models import IdempotentRequest
from helpdesk.extensions import db

from .api_support import bearer, is_problem


def _user(user_id):
    db.session.expire_all()
    return db.session.get(User, user_id)


def _organization(name):
    made = organizations.create_organization(None, name)
    db.session.commit()
    return made


def _history(user_id):
    db.session.expire_all()
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.target_user_id == user_id).order_by(AuditEvent.id)
    )
    return [(e.kind, e.old_value, e.new_value) for e in rows]


def test_an_admin_creates_a_customer_in_an_organization_once_per_key(client, desk):
    acme = _organization("Acme")
    data = {"email": "Dora@Example.com", "name": "Dora", "organization_id": acme.id}
    headers = bearer(desk.admin) | {"Idempotency-Key": "crm-dora"}
    first = client.post("/api/v1/users", json=data, headers=headers)
    again = client.post("/api/v1/users", json=data, headers=headers)
    made = first.get_json()["user"]
    assert first.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert made["email"] == "dora@example.com" and made["role"] == "customer" and made["active"]
    assert made["organization"] == {"id": acme.id, "name": "Acme"}
    assert first.headers["Location"].endswith(f"/api/v1/users/{made['id']}")
    assert db.session.scalar(select(db.func.count(User.id)).where(User.email == "dora@example.com")) == 1
    user = _user(made["id"])
    assert user.password_hash is None  # sets one through "Forgot your password?"
    assert _history(user.id) == [("org_member", None, "Acme")]


def test_a_new_technician_past_the_seat_limit_needs_the_confirmation(client, desk, app, monkeypatch):
    monkeypatch.setitem(app.config, "AGENT_SEAT_LIMIT", seat_usage().used)
    data = {
        "email": "tom@example.com",
        "name": "Tom",
        "role": "technician",
        "password": "a long passphrase 42",
    }
    headers = bearer(desk.admin)
    refused = client.post("/api/v1/users", json=data, headers=headers)
    assert is_problem(refused, 422) and refused.get_json()["errors"][0]["field"] == "over_seat_limit"
    assert db.session.scalar(select(User.id).where(User.email == "tom@example.com")) is None
    made = client.post("/api/v1/users", json=data | {"over_seat_limit": True}, headers=headers)
    assert made.status_code == 201 and made.get_json()["user"]["role"] == "technician"
    assert _history(made.get_json()["user"]["id"]) == [("role", "customer", "technician")]


def test_refused_creates_answer_with_field_errors(client, desk):
    headers = bearer(desk.admin)
    shaped = client.post("/api/v1/users", json={"email": "not an address", "role": "owner"}, headers=headers)
    assert is_problem(shaped, 422)
    assert {e["field"] for e in shaped.get_json()["errors"]} == {"email", "name", "role"}
    taken = client.post(
        "/api/v1/users", json={"email": "alice@example.com", "name": "Alice 2"}, headers=headers
    )
    assert is_problem(taken, 422) and "already exists" in taken.get_json()["detail"]
    weak = client.post(
        "/api/v1/users", json={"email": "eve@example.com", "name": "Eve", "password": "x"}, headers=headers
    )
    assert is_problem(weak, 422)
    nowhere = client.post(
        "/api/v1/users",
        json={"email": "eve@example.com", "name": "Eve", "organization_id": 999999},
        headers=headers,
    )
    assert is_problem(nowhere, 422) and nowhere.get_json()["errors"][0]["field"] == "organization_id"
    assert db.session.scalar(select(User.id).where(User.email == "eve@example.com")) is None


def test_an_admin_changes_a_users_details_role_and_organization_in_one_go(client, desk):
    acme = _organization("Acme")
    headers = bearer(desk.admin)
    address = f"/api/v1/users/{desk.requester.id}"
    joined = client.patch(
        address,
        json={
            "name": "Alice Archer-Smith",
            "email": "alice.smith@example.com",
            "organization_id": acme.id,
            "is_org_manager": True,
        },
        headers=headers,
    )
    body = joined.get_json()
    assert (
        joined.status_code == 200
        and body["name"] == "Alice Archer-Smith"
        and body["email"] == "alice.smith@example.com"
    )
    assert body["organization"]["name"] == "Acme" and body["is_org_manager"]
    assert _history(desk.requester.id) == [
        ("org_member", None, "Acme"),
        ("org_manager", "member of Acme", "manager of Acme"),
        ("details", "Alice Archer", "Alice Archer-Smith"),
        ("details", "alice@example.com", "alice.smith@example.com"),
    ]
    left = client.patch(address, json={"organization_id": None}, headers=headers).get_json()
    assert left["organization"] is None and not left["is_org_manager"]


def test_moving_a_customer_out_of_another_organization_needs_move(client, desk):
    acme, globex = _organization("Acme"), _organization("Globex")
    organizations.add_member(None, acme, desk.requester.email)
    db.session.commit()
    headers = bearer(desk.admin)
    address = f"/api/v1/users/{desk.requester.id}"
    asked = client.patch(address, json={"organization_id": globex.id}, headers=headers)
    assert is_problem(asked, 422) and asked.get_json()["errors"][0]["field"] == "move"
    assert _user(desk.requester.id).organization_id == acme.id
    moved = client.patch(address, json={"organization_id": globex.id, "move": True}, headers=headers)
    assert moved.get_json()["organization"]["name"] == "Globex"


def test_deactivating_ends_the_users_access_and_the_last_admin_stays(client, desk):
    tech = bearer(desk.tech_sales)
    headers = bearer(desk.admin)
    gone = client.patch(f"/api/v1/users/{desk.tech_sales.id}", json={"active": False}, headers=headers)
    assert gone.status_code == 200 and gone.get_json()["active"] is False
    assert is_problem(client.get("/api/v1/tickets", headers=tech), 401)  # their token stops working
    assert _history(desk.tech_sales.id) == [("active", "active", "inactive")]
    myself = client.patch(f"/api/v1/users/{desk.admin.id}", json={"active": False}, headers=headers)
    assert is_problem(myself, 403) and "last active admin" in myself.get_json()["detail"]
    demoted = client.patch(
        f"/api/v1/users/{desk.admin.id}", json={"role": "customer", "name": "X"}, headers=headers
    )
    assert is_problem(demoted, 403)
    admin = _user(desk.admin.id)
    assert admin.active and admin.role == "admin" and admin.name == "Ada Admin"  # nothing of it saved


def test_refused_changes_answer_with_field_errors(client, desk):
    headers = bearer(desk.admin)
    address = f"/api/v1/users/{desk.requester.id}"
    shaped = client.patch(address, json={"role": "boss", "active": None, "email": "nope"}, headers=headers)
    assert is_problem(shaped, 422)
    assert {e["field"] for e in shaped.get_json()["errors"]} == {"role", "email"}
    nulled = client.patch(address, json={"name": None}, headers=headers)
    assert is_problem(nulled, 422) and nulled.get_json()["errors"][0]["field"] == "name"
    taken = client.patch(address, json={"email": "carl@example.com"}, headers=headers)
    assert is_problem(taken, 422) and "Another account" in taken.get_json()["detail"]
    agent = client.patch(
        f"/api/v1/users/{desk.tech_it.id}",
        json={"organization_id": _organization("Acme").id},
        headers=headers,
    )
    assert is_problem(agent, 422) and "only customers" in agent.get_json()["detail"]
    assert _user(desk.requester.id).email == "alice@example.com"


def test_an_admin_sets_a_technicians_categories(client, desk):
    headers = bearer(desk.admin)
    address = f"/api/v1/users/{desk.tech_it.id}/permissions"
    wanted = {"category_ids": [desk.sales.id, desk.it.id]}
    answer = client.put(address, json=wanted, headers=headers)
    assert answer.status_code == 200 and {c["name"] for c in answer.get_json()["categories"]} == {
        "IT",
        "Sales",
    }
    assert ("permission", "granted", "revoked") in _history(desk.tech_it.id)  # Billing
    assert ("permission", "revoked", "granted") in _history(desk.tech_it.id)  # Sales
    tickets = client.get("/api/v1/tickets?status=all", headers=bearer(desk.tech_it)).get_json()["items"]
    assert {t["subject"] for t in tickets} == {"VPN drops", "Quote please"}  # now sees Sales' ticket
    customer = client.put(f"/api/v1/users/{desk.requester.id}/permissions", json=wanted, headers=headers)
    assert is_problem(customer, 422) and "not a technician" in customer.get_json()["detail"]
    unknown = client.put(address, json={"category_ids": [999999]}, headers=headers)
    assert is_problem(unknown, 422) and unknown.get_json()["errors"][0]["field"] == "category_ids"


def test_an_admin_creates_and_renames_organizations(client, desk):
    headers = bearer(desk.admin) | {"Idempotency-Key": "org-1"}
    made = client.post("/api/v1/organizations", json={"name": "  Initech  "}, headers=headers)
    again = client.post("/api/v1/organizations", json={"name": "  Initech  "}, headers=headers)
    organization = made.get_json()["organization"]
    assert (
        made.status_code == 201 and organization["name"] == "Initech" and again.get_json() == made.get_json()
    )
    assert client.get(made.headers["Location"], headers=headers).get_json() == organization
    twin = client.post("/api/v1/organizations", json={"name": "initech"}, headers=bearer(desk.admin))
    assert is_problem(twin, 422)
    renamed = client.patch(
        f"/api/v1/organizations/{organization['id']}", json={"name": "Initrode"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Initrode"
    assert is_problem(
        client.patch(f"/api/v1/organizations/{organization['id']}", json={"name": ""}, headers=headers), 422
    )
    assert (
        db.session.scalar(select(db.func.count(Organization.id)).where(Organization.name == "Initrode")) == 1
    )
    assert db.session.scalar(select(db.func.count(IdempotentRequest.id))) == 1


@pytest.mark.parametrize("role", ["tech_it", "requester"])
def test_people_writes_answer_404_to_everyone_but_admins(client, desk, role):
    acme = _organization("Acme")
    headers = bearer(getattr(desk, role))
    answers = [
        client.post("/api/v1/users", json={"email": "zed@example.com", "name": "Zed"}, headers=headers),
        client.patch(f"/api/v1/users/{desk.requester.id}", json={"name": "Hacked"}, headers=headers),
        client.put(
            f"/api/v1/users/{desk.tech_it.id}/permissions", json={"category_ids": []}, headers=headers
        ),
        client.post("/api/v1/organizations", json={"name": "Mine"}, headers=headers),
        client.patch(f"/api/v1/organizations/{acme.id}", json={"name": "Mine"}, headers=headers),
        client.get(f"/api/v1/organizations/{acme.id}", headers=headers),
    ]
    assert all(is_problem(a, 404) for a in answers)
    assert (
        _user(desk.requester.id).name == "Alice Archer"
        and len(_user(desk.tech_it.id).category_permissions) == 2
    )


def test_an_admin_token_without_people_write_changes_nothing(client, desk):
    headers = bearer(desk.admin, scopes=["people:read"])
    refused = client.patch(f"/api/v1/users/{desk.requester.id}", json={"name": "Alicia"}, headers=headers)
    assert is_problem(refused, 403) and "people:write" in refused.get_json()["detail"]
    assert is_problem(client.post("/api/v1/organizations", json={"name": "Acme"}, headers=headers), 403)
    assert _user(desk.requester.id).name == "Alice Archer"


def test_an_unknown_user_or_organization_is_404(client, desk):
    headers = bearer(desk.admin)
    assert is_problem(client.patch("/api/v1/users/999999", json={"name": "Nobody"}, headers=headers), 404)
    assert is_problem(
        client.patch("/api/v1/organizations/999999", json={"name": "None"}, headers=headers), 404
    )
    assert is_problem(
        client.put("/api/v1/users/999999/permissions", json={"category_ids": []}, headers=headers), 404
    )


def test_deactivation_revokes_the_users_tokens_for_good(client, desk):
    """An admin who deactivates someone whose token leaked, then reactivates them, must not bring
    the leaked token back: deactivation revokes every active token (docs/api.md)."""
    from helpdesk.api.models import ApiToken

    leaked, other = bearer(desk.tech_sales), bearer(desk.tech_sales)
    admin = bearer(desk.admin)
    address = f"/api/v1/users/{desk.tech_sales.id}"
    assert client.patch(address, json={"active": False}, headers=admin).status_code == 200
    assert client.patch(address, json={"active": True}, headers=admin).get_json()["active"] is True
    for token in (leaked, other):
        assert is_problem(client.get("/api/v1/tickets", headers=token), 401)
    db.session.expire_all()
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == desk.tech_sales.id)).all()
    assert len(tokens) == 2 and all(t.revoked_at is not None for t in tokens)  # their page says "revoked"
    fresh = bearer(desk.tech_sales)  # they make a new one
    assert client.get("/api/v1/tickets", headers=fresh).status_code == 200
    assert client.get("/api/v1/tickets", headers=bearer(desk.tech_it)).status_code == 200  # others' stay


def test_a_corrected_address_can_forget_the_password_chosen_at_the_old_one(client, desk, make):
    """`new_password: true` with a new e-mail: the old address was not theirs; the password chosen
    there stops working and the account is an invitee again. Without a new address: 422, nothing
    changed."""
    typo = make.customer(name="Tina", email="tina@exmaple.com")
    alone = client.patch(
        f"/api/v1/users/{typo.id}",
        json={"email": "tina@exmaple.com", "new_password": True},
        headers=bearer(desk.admin),
    )
    assert is_problem(alone, 422)
    assert _user(typo.id).password_hash is not None
    answer = client.patch(
        f"/api/v1/users/{typo.id}",
        json={"email": "tina@example.com", "new_password": True},
        headers=bearer(desk.admin),
    )
    assert answer.status_code == 200 and answer.get_json()["email"] == "tina@example.com"
    tina = _user(typo.id)
    assert tina.password_hash is None
    assert ("details", "their password", "a new one to choose at the new address") in _history(tina.id)


def test_an_admin_erases_a_customer_s_personal_data_through_the_api(client, desk, make):
    """POST /users/{id}/erasure does what the admin page does: the account answers anonymised and
    deactivated, their ticket's text is gone; an agent, oneself and an erased account are refused
    (403); anyone but an admin gets 404."""
    from helpdesk.tickets.models import Ticket

    erin = make.customer(name="Erin Erasable", email="erin@example.com")
    ticket = make.ticket(
        requester=erin, subject="My secret printer", category=desk.it, priority=desk.ref.priorities["Normal"]
    )
    db.session.commit()
    assert client.post(f"/api/v1/users/{erin.id}/erasure", headers=bearer(desk.tech_it)).status_code == 404
    answer = client.post(f"/api/v1/users/{erin.id}/erasure", headers=bearer(desk.admin))
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["name"], body["email"], body["active"]) == (
        f"Erased customer #{erin.id}",
        f"erased-{erin.id}@invalid",
        False,
    )
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).subject == "[erased]"
    again = client.post(f"/api/v1/users/{erin.id}/erasure", headers=bearer(desk.admin))
    assert is_problem(again, 403) and "already erased" in again.get_json()["detail"]
    agent = client.post(f"/api/v1/users/{desk.tech_it.id}/erasure", headers=bearer(desk.admin))
    assert is_problem(agent, 403) and "Make them a customer first" in agent.get_json()["detail"]
    assert _user(desk.tech_it.id).name == "Ivan IT"
