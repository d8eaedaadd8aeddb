"""One admin area under /admin/: a home page with every section, and the same answer everywhere:
anonymous visitors log in, everyone but an active admin gets 404."""

import re

import pytest

ADMIN_SECTIONS = [
    "People",
    "Organizations",
    "Categories",
    "Permissions",
    "Plans and credits",
    "Billing",
    "Mail",
]


def _admin_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)


@pytest.fixture
def roles(make, ref):
    return {
        "technician": make.technician(ref.categories["IT"]),
        "customer": make.customer(),
    }


def test_every_admin_address_is_404_for_everyone_but_admins(app, client, login, roles):
    rules = list(_admin_rules(app))
    assert len(rules) > 40  # people, categories, permissions, organizations, credits, billing, mail
    for name, user in roles.items():
        login(user)
        answers = {(m, url): client.open(url, method=m).status_code for m, url in rules}
        assert set(answers.values()) == {404}, (name, {k: v for k, v in answers.items() if v != 404})


def test_every_admin_address_asks_an_anonymous_visitor_to_log_in(app, client):
    for method, url in _admin_rules(app):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)


def test_the_admin_home_lists_every_section_with_its_link(client, login, make):
    login(make.admin())
    page = client.get("/admin/").get_data(as_text=True)
    for label in ADMIN_SECTIONS:
        assert f">{label}</a>" in page
    for path in ("/admin/users", "/admin/credits/", "/admin/billing/payments", "/admin/mail/"):
        assert f'href="{path}"' in page


def test_each_admin_page_marks_its_section_as_current(client, login, make):
    login(make.admin())
    page = client.get("/admin/credits/plans").get_data(as_text=True)
    assert re.search(r'<a href="/admin/credits/" aria-current="true">Plans and credits</a>', page)
    page = client.get("/admin/billing/packs").get_data(as_text=True)
    assert re.search(r'<a href="/admin/billing/payments" aria-current="true">Billing</a>', page)
