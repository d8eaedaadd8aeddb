"""Admins manage organizations: create, rename, members, managers, and what a manager then sees."""

import html
import re

import pytest

from helpdesk.accounts.models import AuditEvent, Organization, User
from helpdesk.credits import ledger as credits
from helpdesk.extensions import db
from tests import credit_helpers

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(make, login):
    user = make.admin(email="admin@example.test", name="Ada Admin")
    login(user)
    return user


@pytest.fixture
def acme(make):
    return make.OrganizationFactory(name="Acme")


def org_named(name):
    return db.session.scalar(db.select(Organization).where(Organization.name == name))


def text_of(response):
    """What the page says, tags taken out and spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def fresh(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


# --- list, create, rename -------------------------------------------------------------------


def test_create_goes_to_the_new_organization_page(client, admin):
    response = client.post("/admin/organizations", data={"name": "  Globex   Corp "})
    org = org_named("Globex Corp")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/organizations/{org.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Organization “Globex Corp” created: add its members here." in page
    assert "No members yet" in page


def test_duplicate_name_is_refused_whatever_the_case(client, admin, acme):
    response = client.post("/admin/organizations", data={"name": "ACME"})
    assert response.status_code == 422
    assert "An organization named “ACME” already exists." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Organization.id))) == 1


def test_empty_name_is_refused_with_a_message(client, admin):
    response = client.post("/admin/organizations", data={"name": "   "})
    assert response.status_code == 422 and "Enter an organization name." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Organization.id))) == 0


def test_create_with_htmx_returns_the_section_fragment(client, admin):
    response = client.post("/admin/organizations", data={"name": "Initech"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert 'id="organization-section"' in body and "Organization “Initech” created" in body


def test_list_shows_member_counts_and_the_shared_bank(client, admin, acme, make, ref):
    make.customer(organization_id=acme.id)
    make.customer(organization_id=acme.id)
    make.OrganizationFactory(name="Empty Ltd")
    credit_helpers.bank("Pay as you go", 500, organization=acme)
    page = client.get("/admin/organizations").get_data(as_text=True)
    acme_row = re.search(rf'<tr id="organization-{acme.id}">.*?</tr>', page, re.S).group(0)
    assert '<td class="num">2</td>' in acme_row and "500 credits</a> on Pay as you go" in acme_row
    empty_row = re.search(r'<tr id="organization-\d+">(?:(?!</tr>).)*Empty Ltd.*?</tr>', page, re.S).group(0)
    assert '<td class="num">0</td>' in empty_row and "None" in empty_row


def test_search_by_name_is_paginated_and_answers_htmx_with_the_section(client, admin, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for name in ["Alpha Co", "Alphabet", "Alpine", "Beta"]:
        make.OrganizationFactory(name=name)
    first = client.get("/admin/organizations?q=alp", headers=HX)
    body = first.get_data(as_text=True)
    assert "<html" not in body and "HX-Request" in first.headers["Vary"]
    assert "Alpha Co" in body and "Alphabet" in body and "Beta" not in body
    assert "Page 1 of 2" in body and "q=alp" in body
    second = client.get("/admin/organizations?q=alp&page=2").get_data(as_text=True)
    assert "Alpine" in second and "Alpha Co" not in second


def test_rename_keeps_members_and_is_audited(client, admin, acme, make):
    member = make.customer(organization_id=acme.id)
    response = client.post(f"/admin/organizations/{acme.id}/rename", data={"name": "Acme Europe"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, acme.id).name == "Acme Europe"
    assert fresh(member).organization_id == acme.id
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.kind == "organization"))
    assert (event.old_value, event.new_value, event.actor_id) == ("Acme", "Acme Europe", admin.id)


def test_rename_to_a_taken_name_shows_the_error_in_the_row(client, admin, acme, make):
    other = make.OrganizationFactory(name="Globex")
    response = client.post(f"/admin/organizations/{other.id}/rename", data={"name": "acme"}, headers=HX)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="organization-{other.id}"')
    assert "An organization named “acme” already exists." in body
    plain = client.post(f"/admin/organizations/{other.id}/rename", data={"name": "acme"})
    assert plain.status_code == 422 and "already exists" in plain.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organization, other.id).name == "Globex"


def test_a_refused_rename_in_a_search_without_javascript_shows_that_row_with_what_was_typed(
    client, admin, make, app, monkeypatch
):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for name in ["Alpha Co", "Alphabet", "Alpine", "Aardvark", "Beta"]:
        make.OrganizationFactory(name=name)
    alpine = org_named("Alpine")
    page = client.get("/admin/organizations?q=alp&page=2").get_data(as_text=True)
    found = re.search(rf'action="(/admin/organizations/{alpine.id}/rename[^"]*)"', page)
    action = html.unescape(found.group(1))
    refused = client.post(action, data={"name": "beta"})
    body = refused.get_data(as_text=True)
    # the admin sees the row they were on, the refusal beside it and the name they typed
    assert refused.status_code == 422 and "Page 2 of 2" in body
    assert "An organization named “beta” already exists." in body and 'value="beta"' in body
    saved = client.post(action, data={"name": "Alpine Ltd"})
    assert saved.status_code == 302 and "q=alp" in saved.headers["Location"]
    assert "page=2" in saved.headers["Location"]
    assert "Saved: renamed to “Alpine Ltd”." in client.get(saved.headers["Location"]).get_data(as_text=True)


# --- members --------------------------------------------------------------------------------


def test_add_a_customer_by_email(client, admin, acme, make):
    dave = make.customer(email="dave@example.test", name="Dave")
    response = client.post(f"/admin/organizations/{acme.id}/members", data={"email": "DAVE@example.test"})
    assert response.status_code == 302
    assert fresh(dave).organization_id == acme.id and not fresh(dave).is_org_manager
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dave joined Acme." in page and "dave@example.test" in page


def test_agents_and_unknown_addresses_are_refused_with_a_message(client, admin, acme, make, ref):
    tech = make.technician(ref.categories["IT"], email="tech@example.test", name="Tess")
    body = client.post(f"/admin/organizations/{acme.id}/members", data={"email": "tech@example.test"})
    assert "Tess is an agent: only customers belong to organizations." in body.get_data(as_text=True)
    assert fresh(tech).organization_id is None
    body = client.post(f"/admin/organizations/{acme.id}/members", data={"email": "nobody@example.test"})
    assert "No customer has this e-mail address." in body.get_data(as_text=True)
    # refused like every refused form (422); with htmx 200, so the section with the message is swapped in
    assert body.status_code == 422
    swapped = client.post(
        f"/admin/organizations/{acme.id}/members", data={"email": "nobody@example.test"}, headers=HX
    )
    assert swapped.status_code == 200 and "No customer has this e-mail address." in swapped.get_data(
        as_text=True
    )


def test_moving_a_member_of_another_organization_needs_a_confirmation(client, admin, acme, make):
    globex = make.OrganizationFactory(name="Globex")
    erin = make.customer(
        email="erin@example.test", name="Erin", organization_id=globex.id, is_org_manager=True
    )
    url = f"/admin/organizations/{acme.id}/members"
    first = client.post(url, data={"email": "erin@example.test"}).get_data(as_text=True)
    assert "Erin (erin@example.test) belongs to Globex." in first
    assert 'name="confirmed" value="y"' in first and "Confirm: move" in first
    assert fresh(erin).organization_id == globex.id
    response = client.post(url, data={"email": "erin@example.test", "confirmed": "y"})
    assert response.status_code == 302
    moved = fresh(erin)
    assert moved.organization_id == acme.id and not moved.is_org_manager
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.kind == "org_member"))
    assert (event.old_value, event.new_value, event.target_user_id) == ("Globex", "Acme", erin.id)
    history = client.get(f"/admin/users/{erin.id}").get_data(as_text=True)
    assert "Erin: moved from Globex to Acme" in history


def test_member_actions_with_htmx_swap_the_member_section(client, admin, acme, make):
    erin = make.customer(email="erin@example.test", name="Erin")
    response = client.post(f"/admin/organizations/{acme.id}/members", data={"email": erin.email}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith('<section id="member-section"') and "Erin joined Acme." in body
    made = client.post(
        f"/admin/organizations/{acme.id}/members/{erin.id}/manager", data={"manager": "1"}, headers=HX
    )
    assert "Saved: Erin manages Acme" in made.get_data(as_text=True) and "Unmake manager" in made.get_data(
        as_text=True
    )
    removed = client.post(
        f"/admin/organizations/{acme.id}/members/{erin.id}/remove",
        data={"confirmed_action": "yes"},
        headers=HX,
    )
    assert "Erin is no longer a member of Acme." in removed.get_data(as_text=True)
    assert fresh(erin).organization_id is None and not fresh(erin).is_org_manager


def test_removing_someone_no_longer_a_member_says_so(client, admin, acme, make):
    stranger = make.customer(name="Stan")
    response = client.post(f"/admin/organizations/{acme.id}/members/{stranger.id}/remove")
    assert response.status_code == 422
    assert "This person is not a member of the organization." in response.get_data(as_text=True)


def test_several_managers_and_the_member_list_is_paginated(client, admin, acme, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    people = [make.customer(name=f"Member {i}", organization_id=acme.id) for i in range(3)]
    for person in people[:2]:
        client.post(f"/admin/organizations/{acme.id}/members/{person.id}/manager", data={"manager": "1"})
    assert [fresh(p).is_org_manager for p in people] == [True, True, False]
    page = client.get(f"/admin/organizations/{acme.id}").get_data(as_text=True)
    assert "Members <small>(3)</small>" in page and "Page 1 of 2" in page
    assert page.count(">Manager</td>") == 2


def test_organization_page_links_the_bank_or_offers_to_open_one(client, admin, acme, make, ref):
    page = client.get(f"/admin/organizations/{acme.id}").get_data(as_text=True)
    assert 'action="/admin/credits/banks"' in page and 'name="organization" value="Acme"' in page
    plan = credits.all_plans()[0]
    response = client.post("/admin/credits/banks", data={"organization": "Acme", "plan": plan.id})
    assert response.status_code == 302
    bank = credits.account_for(make.customer(organization_id=acme.id))
    page = client.get(f"/admin/organizations/{acme.id}").get_data(as_text=True)
    assert f'href="/admin/credits/banks/{bank.id}"' in page


def test_user_page_links_the_organization(client, admin, acme, make):
    carol = make.customer(name="Carol", organization_id=acme.id, is_org_manager=True)
    page = client.get(f"/admin/users/{carol.id}").get_data(as_text=True)
    assert f'href="/admin/organizations/{acme.id}"' in page and "Acme</a> (manager)" in page


# --- what a manager sees --------------------------------------------------------------------


def test_manager_toggle_opens_and_closes_the_organization_tickets(app, client, admin, acme, make, ref, login):
    carol = make.customer(email="carol@example.test", name="Carol", organization_id=acme.id)
    dave = make.customer(email="dave@example.test", name="Dave", organization_id=acme.id)
    ticket = make.ticket(requester=dave, subject="Printer on fire", category=ref.categories["IT"])
    carol_client = login(carol, as_client=app.test_client())

    def sees():
        listing = carol_client.get("/portal/tickets?scope=organization").get_data(as_text=True)
        status = carol_client.get(f"/portal/tickets/{ticket.id}").status_code
        return "Printer on fire" in listing, status

    assert sees() == (False, 404)
    client.post(f"/admin/organizations/{acme.id}/members/{carol.id}/manager", data={"manager": "1"})
    assert sees() == (True, 200)
    unmake = f"/admin/organizations/{acme.id}/members/{carol.id}/manager"
    client.post(unmake, data={"manager": "0", "confirmed_action": "yes"})  # the last manager: asked first
    assert sees() == (False, 404)


# --- access ---------------------------------------------------------------------------------


def org_requests(org, member):
    return [
        ("get", "/admin/organizations", None),
        ("get", f"/admin/organizations/{org.id}", None),
        ("post", "/admin/organizations", {"name": "Hijack"}),
        ("post", f"/admin/organizations/{org.id}/rename", {"name": "Hijack"}),
        ("post", f"/admin/organizations/{org.id}/members", {"email": "x@example.test"}),
        ("post", f"/admin/organizations/{org.id}/members/{member.id}/manager", {"manager": "1"}),
        ("post", f"/admin/organizations/{org.id}/members/{member.id}/remove", {}),
    ]


@pytest.mark.parametrize("role", ["technician", "customer", "manager"])
def test_non_admins_get_404_and_change_nothing(client, login, make, ref, acme, role):
    member = make.customer(organization_id=acme.id)
    users = {
        "technician": lambda: make.technician(ref.categories["IT"]),
        "customer": lambda: make.customer(),
        "manager": lambda: make.customer(organization_id=acme.id, is_org_manager=True),
    }
    login(users[role]())
    for method, url, data in org_requests(acme, member):
        assert getattr(client, method)(url, data=data).status_code == 404, url
    assert org_named("Acme") is not None and org_named("Hijack") is None
    assert fresh(member).organization_id == acme.id and not fresh(member).is_org_manager


def test_anonymous_users_are_sent_to_log_in(client, make, acme):
    member = make.customer(organization_id=acme.id)
    for method, url, data in org_requests(acme, member):
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_member_forms_need_the_csrf_token(app, client, admin, acme, make, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    erin = make.customer(email="erin@example.test")
    refused = client.post(f"/admin/organizations/{acme.id}/members", data={"email": erin.email})
    assert refused.status_code == 400 and fresh(erin).organization_id is None
    page = client.get(f"/admin/organizations/{acme.id}").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    saved = client.post(
        f"/admin/organizations/{acme.id}/members",
        data={"email": erin.email},
        headers={**HX, "X-CSRFToken": token},
    )
    assert saved.status_code == 200 and fresh(erin).organization_id == acme.id


def test_the_list_costs_the_same_queries_for_many_organizations(client, admin, make, ref):
    from sqlalchemy import event

    def statements_for_list():
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/admin/organizations").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    def org_with_bank():
        org = make.OrganizationFactory()
        make.customer(organization_id=org.id)
        credit_helpers.bank("Pay as you go", 10, organization=org)

    org_with_bank()
    few = statements_for_list()
    for _ in range(5):
        org_with_bank()
    assert statements_for_list() == few


# --- an organization losing its only manager ---------------------------------------------------------


def _manager(make, acme, name="Carol", email="carol@example.test"):
    user = make.customer(email=email, name=name, organization_id=acme.id)
    user.is_org_manager = True
    db.session.commit()
    return user


NO_MANAGER = "Acme will have no manager"


def test_deactivating_the_only_manager_says_the_organization_will_have_none(client, admin, acme, make):
    carol = _manager(make, acme)
    asked = client.post(f"/admin/users/{carol.id}/active", data={"active": "0"}).get_data(as_text=True)
    assert "Deactivate Carol?" in asked and NO_MANAGER in asked
    assert "members who ask a manager for credits will have nobody to ask" in asked
    assert fresh(carol).active
    _manager(make, acme, name="Bea", email="bea@example.test")
    asked = client.post(f"/admin/users/{carol.id}/active", data={"active": "0"}).get_data(as_text=True)
    assert "Deactivate Carol?" in asked and NO_MANAGER not in asked  # Bea still manages Acme


def test_unmaking_the_only_manager_asks_first(client, admin, acme, make):
    carol = _manager(make, acme)
    url = f"/admin/organizations/{acme.id}/members/{carol.id}/manager"
    asked = client.post(url, data={"manager": "0"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Make Carol a plain member of Acme?" in page and NO_MANAGER in page
    assert f'href="/admin/organizations/{acme.id}">Cancel' in page
    assert fresh(carol).is_org_manager
    done = client.post(url, data={"manager": "0", "confirmed_action": "yes"})
    assert done.status_code == 302 and not fresh(carol).is_org_manager
    bea = _manager(make, acme, name="Bea", email="bea@example.test")
    dave = make.customer(email="dave@example.test", name="Dave", organization_id=acme.id)
    client.post(f"/admin/organizations/{acme.id}/members/{dave.id}/manager", data={"manager": "1"})
    unmade = client.post(f"/admin/organizations/{acme.id}/members/{bea.id}/manager", data={"manager": "0"})
    assert unmade.status_code == 302 and not fresh(bea).is_org_manager  # Dave manages it: no question


def test_removing_the_only_manager_warns_in_the_question(client, admin, acme, make):
    carol = _manager(make, acme)
    asked = client.post(f"/admin/organizations/{acme.id}/members/{carol.id}/remove").get_data(as_text=True)
    assert "Remove Carol from Acme?" in asked and NO_MANAGER in asked
    assert f'href="/admin/organizations/{acme.id}">Cancel' in asked


# --- a customer with their own bank joining an organization with a shared bank ----------------


def test_adding_a_customer_with_their_own_credits_asks_first_and_says_what_happens(
    client, admin, acme, make, login, ref
):
    alice = make.customer(email="alice@example.test", name="Alice Archer")
    credit_helpers.bank("Pay as you go", 1000, user=alice)
    credit_helpers.bank("Business", 500, organization=acme)
    url = f"/admin/organizations/{acme.id}/members"
    first = text_of(client.post(url, data={"email": "alice@example.test"}))
    assert "Alice Archer has their own credit bank holding 1,000 credits." in first
    assert "their new tickets are paid from Acme's shared bank (500 credits)" in first
    assert "book a deduction on their bank and a grant on Acme's" in first
    assert "Confirm: add Alice Archer to Acme" in first
    assert fresh(alice).organization_id is None  # asking changed nothing
    response = client.post(url, data={"email": "alice@example.test", "confirmed": "y"})
    assert "Alice Archer joined Acme." in text_of(client.get(response.headers["Location"]))
    assert fresh(alice).organization_id == acme.id
    login(fresh(alice))
    page = text_of(client.get("/portal/credits"))
    assert "Acme (shared by your organization)" in page and "500 credits" in page
    assert "Your own bank" in page and "You also have your own bank, with 1,000 credits" in page


def test_own_banks_that_change_nothing_join_without_a_question(client, admin, acme, make, login, ref):
    """An empty own bank hides nothing, and without a shared bank the own one keeps paying."""
    empty = make.customer(email="empty@example.test", name="Emma Empty")
    credit_helpers.bank("Pay as you go", 0, user=empty)
    credit_helpers.bank("Business", 500, organization=acme)
    globex = make.OrganizationFactory(name="Globex")  # no shared bank
    rich = make.customer(email="rich@example.test", name="Rick Rich")
    credit_helpers.bank("Pay as you go", 800, user=rich)
    client.post(f"/admin/organizations/{acme.id}/members", data={"email": "empty@example.test"})
    client.post(f"/admin/organizations/{globex.id}/members", data={"email": "rich@example.test"})
    assert fresh(empty).organization_id == acme.id and fresh(rich).organization_id == globex.id
    login(fresh(empty))
    assert "Your own bank" not in text_of(client.get("/portal/credits"))
    login(fresh(rich))
    page = text_of(client.get("/portal/credits"))
    assert "Rick Rich" in page and "800 credits" in page and "Your own bank" not in page


def test_moving_a_customer_with_their_own_credits_says_both(client, admin, acme, make, ref):
    globex = make.OrganizationFactory(name="Globex")
    erin = make.customer(email="erin@example.test", name="Erin", organization_id=globex.id)
    credit_helpers.bank("Pay as you go", 300, user=erin)
    credit_helpers.bank("Business", 500, organization=acme)
    first = text_of(client.post(f"/admin/organizations/{acme.id}/members", data={"email": erin.email}))
    assert "Erin (erin@example.test) belongs to Globex." in first
    assert "Erin has their own credit bank holding 300 credits." in first and "Confirm: move Erin" in first


def test_a_running_subscription_on_the_own_bank_is_named_in_the_question(client, admin, acme, make, ref):
    """An own bank of 0 credits hides nothing, but its subscription goes on charging the card."""
    from helpdesk.billing.models import SUB_ACTIVE, PlanSubscription

    sam = make.customer(email="sam@example.test", name="Sam Sub")
    own = credit_helpers.bank("Business", 0, user=sam)
    credit_helpers.bank("Business", 500, organization=acme)
    db.session.add(
        PlanSubscription(
            account_id=own.id,
            plan_id=own.plan_id,
            user_id=sam.id,
            status=SUB_ACTIVE,
            idempotency_key="sub:sam",
        )
    )
    db.session.commit()
    url = f"/admin/organizations/{acme.id}/members"
    asked = text_of(client.post(url, data={"email": "sam@example.test"}))
    assert "Their own bank has a subscription to Business, which goes on renewing by card" in asked
    assert "they can cancel it on their billing page" in asked and fresh(sam).organization_id is None
    client.post(url, data={"email": "sam@example.test", "confirmed": "y"})
    assert fresh(sam).organization_id == acme.id
