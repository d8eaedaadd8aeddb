"""Who may open the admin pages and the reports: admins everything, agents reports, others 404."""

import pytest

from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.tickets.models import Category


@pytest.fixture
def people(make, ref):
    """One user per role, plus a subscriber (a customer following someone else's ticket)."""
    it = ref.categories["IT"]
    admin = make.admin(email="admin@example.test")
    tech = make.technician(it, email="tech@example.test")
    customer = make.customer(email="customer@example.test")
    subscriber = make.customer(email="follower@example.test")
    ticket = make.ticket(category=it, priority=ref.priorities["Normal"], requester=customer)
    make.subscribe(ticket, subscriber)
    return {
        "admin": admin,
        "technician": tech,
        "customer": customer,
        "subscriber": subscriber,
        "ticket": ticket,
    }


def admin_gets(p, ref):
    return [
        "/admin/",
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{p['customer'].id}",
        "/admin/categories",
        "/admin/permissions",
    ]


def admin_posts(p, ref):
    it = ref.categories["IT"]
    tech, customer = p["technician"], p["customer"]
    return [
        ("/admin/categories", {"name": "Hardware"}),
        (f"/admin/categories/{it.id}/rename", {"name": "Computers"}),
        (f"/admin/categories/{it.id}/describe", {"description": "Anything at all."}),
        (f"/admin/categories/{it.id}/archive", {"archived": "1"}),
        (f"/admin/users/{customer.id}/role", {"role": "admin", "confirmed": "y"}),
        (f"/admin/users/{customer.id}/active", {"active": "0"}),
        (
            "/admin/users/new",
            {"name": "Nina New", "email": "nina@example.com", "role": "admin", "confirmed": "y"},
        ),
        (f"/admin/users/{customer.id}/details", {"name": "Changed", "email": "changed@example.com"}),
        (f"/admin/users/{customer.id}/two-factor/disable", {"confirmed_action": "yes"}),
        ("/admin/permissions", {"rows": [tech.id], "perm": []}),
        (
            f"/admin/permissions/{tech.id}/{ref.categories['Sales'].id}",
            {"perm": f"{tech.id}:{ref.categories['Sales'].id}"},
        ),
    ]


REPORT_URLS = [
    "/agent/reports",
    "/agent/reports?format=csv&table=daily",
    "/agent/reports?format=csv&table=backlog",
]


def _nothing_changed(p, ref):
    db.session.expire_all()
    customer = db.session.get(User, p["customer"].id)
    it = db.session.get(Category, ref.categories["IT"].id)
    tech = db.session.get(User, p["technician"].id)
    assert customer.role == "customer" and customer.active and customer.email == "customer@example.test"
    assert db.session.scalar(db.select(User).where(User.email == "nina@example.com")) is None
    assert it.name == "IT" and not it.archived and it.description != "Anything at all."
    assert [perm.category_id for perm in tech.category_permissions] == [it.id]
    assert db.session.scalar(db.select(Category).where(Category.name == "Hardware")) is None


@pytest.mark.parametrize("role", ["technician", "customer", "subscriber"])
def test_non_admins_get_404_on_every_admin_page_and_change_nothing(role, client, login, people, ref):
    login(people[role])
    for url in admin_gets(people, ref):
        assert client.get(url).status_code == 404, url
    for url, data in admin_posts(people, ref):
        assert client.post(url, data=data).status_code == 404, url
    _nothing_changed(people, ref)


def test_anonymous_is_sent_to_login_for_admin_pages_and_reports(client, people, ref):
    for url in admin_gets(people, ref) + REPORT_URLS:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url, data in admin_posts(people, ref):
        response = client.post(url, data=data)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    _nothing_changed(people, ref)


def test_admin_opens_every_admin_page(client, login, people, ref):
    login(people["admin"])
    for url in admin_gets(people, ref):
        assert client.get(url, follow_redirects=True).status_code == 200, url


@pytest.mark.parametrize(
    "role,status", [("admin", 200), ("technician", 200), ("customer", 404), ("subscriber", 404)]
)
def test_reports_are_for_agents_only(role, status, client, login, people):
    login(people[role])
    for url in REPORT_URLS:
        assert client.get(url).status_code == status, url


def test_deactivated_admin_loses_access(client, login, people, make):
    make.admin(email="second-admin@example.test")
    admin = people["admin"]
    login(admin)
    admin.active = False
    db.session.commit()
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "role,sees_admin,sees_reports",
    [
        ("admin", True, True),
        ("technician", False, True),
        ("customer", False, False),
        ("subscriber", False, False),
    ],
)
def test_navigation_shows_only_what_the_role_may_open(role, sees_admin, sees_reports, client, login, people):
    login(people[role])
    page = client.get("/portal/tickets").get_data(as_text=True)
    assert ('href="/admin/"' in page) is sees_admin
    assert ('href="/agent/reports"' in page) is sees_reports
