"""Admins search users, change roles (with the seat-limit confirmation) and deactivate accounts."""

import pytest

from helpdesk.accounts.models import AuditEvent, User
from helpdesk.accounts.seats import seat_usage
from helpdesk.extensions import db
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(make, login):
    user = make.admin(email="admin@example.test", name="Ada Admin")
    login(user)
    return user


def reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def fill_seats(make, ref, count=3):
    """Technicians until the default limit of 4 seats is used (with the admin)."""
    return [make.technician(ref.categories["IT"], email=f"tech{n}@example.test") for n in range(count)]


def test_users_page_searches_filters_and_shows_seats(client, admin, make):
    make.customer(name="Zoe Zimmer", email="zoe@example.test")
    make.customer(name="Yann", email="yann@zimmer.example")
    make.technician(name="Tom Tech", email="tom@example.test")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "2 used / 4" in page
    found = client.get("/admin/users?q=ZIMMER").get_data(as_text=True)
    # an address may break after its "@" (a <wbr>), nowhere else first
    assert "Zoe Zimmer" in found and "yann@<wbr>zimmer.example" in found and "Tom Tech" not in found
    techs = client.get("/admin/users?role=technician").get_data(as_text=True)
    assert "Tom Tech" in techs and "Zoe Zimmer" not in techs


def test_search_treats_wildcards_literally(client, admin, make):
    make.customer(name="Percy", email="percy@example.test")
    assert "Percy" not in client.get("/admin/users?q=%25").get_data(as_text=True)


def test_user_list_filter_with_htmx_returns_the_table_only(client, admin, make):
    make.customer(name="Zoe Zimmer")
    response = client.get("/admin/users?q=zoe", headers=HX)
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="user-list"' in body and "Zoe Zimmer" in body
    assert "HX-Request" in response.headers["Vary"]


def test_user_list_is_paginated(client, admin, make, app):
    for n in range(app.config["PER_PAGE"] + 1):
        make.customer(name=f"Customer {n:02d}")
    first = client.get("/admin/users?role=customer").get_data(as_text=True)
    second = client.get("/admin/users?role=customer&page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Customer 25" not in first and "Customer 25" in second


def test_deactivated_filter(client, admin, make):
    make.customer(name="Gone Gary", active=False)
    make.customer(name="Here Harry")
    page = client.get("/admin/users?status=inactive").get_data(as_text=True)
    assert "Gone Gary" in page and "Here Harry" not in page


def test_promote_within_the_limit_saves_at_once_with_history(client, admin, make):
    customer = make.customer(name="Carl")
    response = client.post(f"/admin/users/{customer.id}/role", data={"role": "technician"})
    assert response.status_code == 302
    assert reload(customer).role == "technician"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: Carl is now technician." in page
    assert "role customer → technician" in page and "Ada Admin" in page
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.target_user_id == customer.id))
    assert (event.kind, event.actor_id, event.old_value, event.new_value) == (
        "role",
        admin.id,
        "customer",
        "technician",
    )


def test_promotion_past_the_limit_warns_then_saves_after_confirmation(client, admin, make, ref):
    fill_seats(make, ref)
    customer = make.customer(name="Carl")
    warned = client.post(f"/admin/users/{customer.id}/role", data={"role": "technician"})
    body = warned.get_data(as_text=True)
    assert warned.status_code == 200
    assert "Over the seat limit." in body and "This makes 5 agents on a plan for 4 seats." in body
    assert 'name="confirmed" value="y"' in body and "Confirm: make Carl technician" in body
    assert reload(customer).role == "customer" and seat_usage().used == 4
    confirmed = client.post(f"/admin/users/{customer.id}/role", data={"role": "technician", "confirmed": "y"})
    assert confirmed.status_code == 302
    assert reload(customer).role == "technician"
    usage = seat_usage()
    assert (usage.used, usage.limit, usage.over_limit) == (5, 4, True)
    assert "5 used / 4" in client.get("/admin/users").get_data(as_text=True)


def test_over_limit_confirmation_with_htmx_is_a_fragment(client, admin, make, ref):
    fill_seats(make, ref)
    customer = make.customer(name="Carl")
    response = client.post(f"/admin/users/{customer.id}/role", data={"role": "admin"}, headers=HX)
    body = response.get_data(as_text=True)
    assert "<html" not in body and "HX-Request" in response.headers["Vary"]
    assert 'id="account-panel"' in body and "This makes 5 agents on a plan for 4 seats." in body
    saved = client.post(
        f"/admin/users/{customer.id}/role", data={"role": "admin", "confirmed": "y"}, headers=HX
    )
    assert "Saved: Carl is now admin." in saved.get_data(as_text=True)
    assert reload(customer).role == "admin"


def test_moving_between_agent_roles_needs_no_confirmation_at_the_limit(client, admin, make, ref):
    techs = fill_seats(make, ref)
    response = client.post(f"/admin/users/{techs[0].id}/role", data={"role": "admin"})
    assert response.status_code == 302 and reload(techs[0]).role == "admin"


def test_demotion_to_customer_frees_a_seat_and_drops_category_permissions(client, admin, make, ref):
    tech = make.technician(ref.categories["IT"], ref.categories["Sales"])
    client.post(f"/admin/users/{tech.id}/role", data={"role": "customer"})
    tech = reload(tech)
    assert tech.role == "customer" and tech.category_permissions == []
    assert seat_usage().used == 1


def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(client, admin, make):
    make.admin(email="former@example.test", active=False)
    demote = client.post(f"/admin/users/{admin.id}/role", data={"role": "technician"})
    assert demote.status_code == 200 and "is the last active admin" in demote.get_data(as_text=True)
    deactivate = client.post(
        f"/admin/users/{admin.id}/active", data={"active": "0", "confirmed_action": "yes"}
    )
    assert deactivate.status_code == 200 and "is the last active admin" in deactivate.get_data(as_text=True)
    admin = reload(admin)
    assert admin.role == "admin" and admin.active


def test_an_admin_may_step_down_when_another_admin_remains(client, admin, make):
    make.admin(email="other@example.test")
    response = client.post(f"/admin/users/{admin.id}/role", data={"role": "technician"})
    assert response.status_code == 302 and reload(admin).role == "technician"
    assert client.get("/admin/users").status_code == 404  # no longer an admin


def test_deactivation_ends_sessions_blocks_login_and_frees_a_seat(app, client, admin, make, ref, login):
    tech = make.technician(ref.categories["IT"], email="leaving@example.test", name="Lee")
    their_browser = login(tech, as_client=app.test_client())
    assert their_browser.get("/agent/reports").status_code == 200
    assert seat_usage().used == 2
    response = client.post(f"/admin/users/{tech.id}/active", data={"active": "0", "confirmed_action": "yes"})
    assert response.status_code == 302
    assert seat_usage().used == 1
    kicked = their_browser.get("/agent/reports")
    assert kicked.status_code == 302 and "/login" in kicked.headers["Location"]
    fresh = app.test_client()
    refused = fresh.post("/login", data={"email": "leaving@example.test", "password": PASSWORD})
    assert refused.status_code == 200 and "E-mail or password is not correct." in refused.get_data(
        as_text=True
    )
    page = client.get(f"/admin/users/{tech.id}").get_data(as_text=True)
    assert "Lee: deactivated" in page and "Reactivate Lee" in page


def test_reactivating_an_agent_past_the_limit_needs_confirmation(client, admin, make, ref):
    gone = make.technician(ref.categories["IT"], active=False, name="Gina")
    fill_seats(make, ref)
    warned = client.post(f"/admin/users/{gone.id}/active", data={"active": "1"})
    assert "This makes 5 agents on a plan for 4 seats." in warned.get_data(as_text=True)
    assert not reload(gone).active
    client.post(f"/admin/users/{gone.id}/active", data={"active": "1", "confirmed": "y"})
    assert reload(gone).active and seat_usage().used == 5


def test_reactivated_user_can_log_in_again(app, client, admin, make):
    customer = make.customer(email="back@example.test", active=False)
    client.post(f"/admin/users/{customer.id}/active", data={"active": "1"})
    response = app.test_client().post("/login", data={"email": "back@example.test", "password": PASSWORD})
    assert response.status_code == 302


def test_unknown_role_is_refused(client, admin, make):
    customer = make.customer()
    response = client.post(f"/admin/users/{customer.id}/role", data={"role": "owner"})
    assert response.status_code == 200 and "choose one of the listed options" in response.get_data(
        as_text=True
    )
    assert reload(customer).role == "customer"


def test_unknown_user_is_404(client, admin):
    assert client.get("/admin/users/9999").status_code == 404
    assert client.post("/admin/users/9999/active", data={"active": "0"}).status_code == 404


def _assigned(make, ref, tech, category="IT", status="open"):
    return make.ticket(
        category=ref.categories[category], priority=ref.priorities["Normal"], assignee=tech, status=status
    )


def _assignee_of(ticket):
    db.session.expire_all()
    return db.session.get(type(ticket), ticket.id).assignee_id


def test_a_deactivated_agent_s_open_tickets_go_back_to_unassigned(client, admin, make, ref):
    from helpdesk.tickets.models import TicketEvent

    tech = make.technician(ref.categories["IT"], name="Lee")
    open_one, waiting = _assigned(make, ref, tech), _assigned(make, ref, tech, status="waiting")
    closed = _assigned(make, ref, tech, status="closed")
    version = open_one.version
    db.session.commit()
    asked = client.post(f"/admin/users/{tech.id}/active", data={"active": "0"}).get_data(as_text=True)
    assert "open tickets assigned to them go back to Unassigned" in asked
    response = client.post(f"/admin/users/{tech.id}/active", data={"active": "0", "confirmed_action": "yes"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 open tickets assigned to them went back to Unassigned." in page
    assert _assignee_of(open_one) is None and _assignee_of(waiting) is None
    assert _assignee_of(closed) == tech.id  # a closed ticket keeps who worked it
    event = db.session.scalar(db.select(TicketEvent).where(TicketEvent.ticket_id == open_one.id))
    assert (event.field, event.old_value, event.new_value, event.actor_id) == (
        "assignee",
        "Lee",
        None,
        admin.id,
    )
    assert db.session.get(type(open_one), open_one.id).version == version + 1  # open pages see it


def test_an_agent_made_a_customer_or_losing_a_category_keeps_only_what_they_may_work(
    client, admin, make, ref
):
    from helpdesk.accounts import permissions

    tech = make.technician(ref.categories["IT"], ref.categories["Sales"], name="Lee")
    it_ticket, sales_ticket = _assigned(make, ref, tech), _assigned(make, ref, tech, category="Sales")
    db.session.commit()
    permissions.set_permission(admin, tech, ref.categories["Sales"], False)
    db.session.commit()
    assert _assignee_of(sales_ticket) is None and _assignee_of(it_ticket) == tech.id
    response = client.post(f"/admin/users/{tech.id}/role", data={"role": "customer"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lee is now customer. 1 open ticket assigned to them went back to Unassigned." in page
    assert _assignee_of(it_ticket) is None


def test_a_customer_made_an_agent_leaves_their_organization(client, admin, make):
    from helpdesk.accounts.models import Organization

    acme = Organization(name="Acme")
    db.session.add(acme)
    db.session.flush()
    carol = make.customer(name="Carol", organization=acme)
    carol.is_org_manager = True
    db.session.commit()
    client.post(f"/admin/users/{carol.id}/role", data={"role": "technician"}, follow_redirects=True)
    carol = reload(carol)
    assert carol.role == "technician" and carol.organization_id is None and not carol.is_org_manager
    page = client.get(f"/admin/organizations/{acme.id}").get_data(as_text=True)
    assert "Carol" not in page
    history = client.get(f"/admin/users/{carol.id}").get_data(as_text=True)
    assert "Acme" in history  # the membership's end is in their history
