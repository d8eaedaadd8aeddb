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
    asked = client.post(f"/admin/users/{admin.id}/role", data={"role": "technician"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Make Ada Admin technician?" in page
    assert "You lose the admin area at once" in page and f'href="/admin/users/{admin.id}">Cancel' in page
    assert reload(admin).role == "admin"  # nothing changes until confirmed
    response = client.post(
        f"/admin/users/{admin.id}/role", data={"role": "technician", "confirmed_action": "yes"}
    )
    assert response.status_code == 302 and reload(admin).role == "technician"
    assert response.headers["Location"] == "/"  # their start page, not the admin page now closed to them
    landed = client.get("/", follow_redirects=True)
    assert landed.status_code == 200 and landed.request.path == "/agent/"
    assert "Saved: you are now technician." in landed.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 404  # no longer an admin


def test_an_admin_stepping_down_with_htmx_is_sent_to_their_start_page(client, admin, make):
    make.admin(email="other@example.test")
    asked = client.post(f"/admin/users/{admin.id}/role", data={"role": "customer"}, headers=HX)
    assert asked.headers["HX-Retarget"] == "#confirm-host"
    assert "You lose the admin area at once" in asked.get_data(as_text=True)
    response = client.post(
        f"/admin/users/{admin.id}/role", data={"role": "customer", "confirmed_action": "yes"}, headers=HX
    )
    assert response.headers["HX-Redirect"] == "/" and reload(admin).role == "customer"


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
    asked = client.post(f"/admin/users/{carol.id}/role", data={"role": "technician"}).get_data(as_text=True)
    assert "They leave Acme: agents belong to no organization." in asked
    assert "Acme will have no manager" in asked and "nobody to ask" in asked  # she was its only one
    assert reload(carol).role == "customer"
    client.post(
        f"/admin/users/{carol.id}/role",
        data={"role": "technician", "confirmed_action": "yes"},
        follow_redirects=True,
    )
    carol = reload(carol)
    assert carol.role == "technician" and carol.organization_id is None and not carol.is_org_manager
    page = client.get(f"/admin/organizations/{acme.id}").get_data(as_text=True)
    assert "Carol" not in page
    history = client.get(f"/admin/users/{carol.id}").get_data(as_text=True)
    assert "Acme" in history  # the membership's end is in their history


# --- a customer made an agent: their subscriptions and their own tickets ---------------------------


def _reply_mails(ticket):
    from helpdesk.mail.models import OutboxMessage

    db.session.expire_all()
    return db.session.scalars(
        db.select(OutboxMessage.to_addr).where(
            OutboxMessage.kind == "public_reply", OutboxMessage.ticket_id == ticket.id
        )
    ).all()


def test_a_subscriber_made_a_technician_stops_following_and_gets_no_more_replies(
    app, client, make, desk, login
):
    from helpdesk.tickets.models import Subscription, TicketEvent

    login(desk.admin)
    sam = desk.subscriber
    make.ticket(requester=sam, category=desk.it, priority=desk.ref.priorities["Normal"])  # one of his own
    db.session.commit()
    asked = client.post(f"/admin/users/{sam.id}/role", data={"role": "technician"}).get_data(as_text=True)
    assert "Make Sam Sub technician?" in asked
    assert (
        "They stop following 1 ticket as a subscriber: agents follow tickets through their categories."
        in asked
    )
    assert "The 1 ticket they opened as a customer will no longer be in their view" in asked
    assert f'href="/admin/users/{sam.id}">Cancel' in asked
    assert reload(sam).role == "customer"

    done = client.post(f"/admin/users/{sam.id}/role", data={"role": "technician", "confirmed_action": "yes"})
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Saved: Sam Sub is now technician. They no longer follow 1 ticket as a subscriber." in page
    assert (
        db.session.scalar(db.select(db.func.count(Subscription.id)).where(Subscription.user_id == sam.id))
        == 0
    )
    removed = db.session.scalar(db.select(TicketEvent).where(TicketEvent.field == "subscriber removed"))
    assert (removed.ticket_id, removed.old_value, removed.actor_id) == (
        desk.it_ticket.id,
        sam.email,
        desk.admin.id,
    )

    ivan = login(desk.tech_it, as_client=app.test_client())
    ivan.post(
        f"/agent/tickets/{desk.it_ticket.id}/reply",
        data={"reply-body": "Secret detail", "reply-action": "reply"},
    )
    assert _reply_mails(desk.it_ticket) == ["alice@example.com"]  # the requester; no longer Sam


def test_replies_reach_only_followers_who_may_still_see_the_ticket(app, make, desk, login):
    """A requester made a technician without the ticket's category (an old desk, or a subscription
    left from before) gets no mail of a ticket they may not open."""
    from helpdesk.accounts import users

    users.change_role(desk.admin, desk.requester, "technician")  # the service alone: no question
    db.session.commit()
    ivan = login(desk.tech_it, as_client=app.test_client())
    ivan.post(
        f"/agent/tickets/{desk.it_ticket.id}/reply",
        data={"reply-body": "Secret detail", "reply-action": "reply"},
    )
    assert _reply_mails(desk.it_ticket) == ["sam@example.com"]  # not alice@, who cannot open #it_ticket


def test_a_customer_with_nothing_to_lose_is_promoted_without_a_question(client, admin, make):
    carl = make.customer(name="Carl")
    response = client.post(f"/admin/users/{carl.id}/role", data={"role": "admin"})
    assert response.status_code == 302 and reload(carl).role == "admin"


def test_a_question_then_the_seat_limit_asks_no_third_time(client, admin, make, ref, desk):
    fill_seats(make, ref, count=1)  # with desk's admin and technicians: over the limit of 4
    sam = desk.subscriber
    asked = client.post(
        f"/admin/users/{sam.id}/role", data={"role": "technician", "confirmed_action": "yes"}
    ).get_data(as_text=True)
    assert "Over the seat limit." in asked and 'name="confirmed_action" value="yes"' in asked
    done = client.post(
        f"/admin/users/{sam.id}/role",
        data={"role": "technician", "confirmed": "y", "confirmed_action": "yes"},
    )
    assert done.status_code == 302 and reload(sam).role == "technician"


# --- Cancel on a confirmation page without JavaScript ----------------------------------------------


def test_cancel_after_a_refused_details_form_goes_back_to_the_user_page(client, admin, make):
    carl = make.customer(name="Carl")
    refused = f"http://localhost/admin/users/{carl.id}/details"  # the page a refused Save leaves at
    asked = client.post(f"/admin/users/{carl.id}/active", data={"active": "0"}, headers={"Referer": refused})
    page = asked.get_data(as_text=True)
    assert "Deactivate Carl?" in page and f'href="/admin/users/{carl.id}">Cancel' in page
    assert client.get(f"/admin/users/{carl.id}").status_code == 200


def test_a_question_never_offers_a_post_only_address_as_cancel(client, admin, make, desk):
    """ask_first without a cancel_url (the bulk actions') after "Confirm it's you" or a refused
    form: the referrer is an address that only answers POST."""
    from helpdesk.confirming import ask_first

    app = client.application
    with app.test_request_context(
        f"/admin/users/{desk.customer.id}/active",
        method="POST",
        data={"active": "0"},
        headers={"Referer": f"http://localhost/admin/users/{desk.customer.id}/role"},
    ):
        page = ask_first("Do it?", "It happens.", "Do it")
    assert 'href="/">Cancel' in page
    with app.test_request_context(
        "/admin/users/1/active",
        method="POST",
        headers={"Referer": "http://localhost/admin/users?role=customer"},
    ):
        page = ask_first("Do it?", "It happens.", "Do it")
    assert 'href="/admin/users?role=customer">Cancel' in page


def test_deactivation_says_it_revokes_api_tokens_and_reactivation_brings_none_back(client, admin, make, ref):
    from helpdesk.api import tokens

    tech = make.technician(ref.categories["IT"], email="leaky@example.test", name="Lee")
    tokens.create_token(tech, name="laptop", scopes=tokens.SCOPES, days=30)
    tokens.create_token(tech, name="crm", scopes=tokens.SCOPES, days=30)
    db.session.commit()
    asked = client.post(f"/admin/users/{tech.id}/active", data={"active": "0"}).get_data(as_text=True)
    assert "Deactivate Lee?" in asked
    assert "their API tokens are revoked for good (reactivating them later brings none back" in asked
    done = client.post(
        f"/admin/users/{tech.id}/active",
        data={"active": "0", "confirmed_action": "yes"},
        follow_redirects=True,
    )
    assert (
        "Lee deactivated: their sessions have ended and they cannot log in. Their 2 API tokens were revoked."
        in (done.get_data(as_text=True))
    )
    client.post(f"/admin/users/{tech.id}/active", data={"active": "1"})
    assert reload(tech).active and tokens.active_tokens(reload(tech)) == []
