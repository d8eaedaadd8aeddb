"""The technician-by-category grid: per-cell htmx saves, the whole form without JS, and its effect."""

import re

import pytest

from helpdesk.accounts.models import AuditEvent, CategoryPermission
from helpdesk.extensions import db

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(make, login):
    user = make.admin(email="admin@example.test")
    login(user)
    return user


def grants():
    rows = db.session.execute(db.select(CategoryPermission.user_id, CategoryPermission.category_id))
    return set(rows)


def test_grid_shows_technicians_by_categories(client, admin, make, ref):
    ivan = make.technician(ref.categories["IT"], name="Ivan")
    make.customer(name="Carla Customer")
    page = client.get("/admin/permissions").get_data(as_text=True)
    assert "Ivan" in page and "Carla Customer" not in page
    it, sales = ref.categories["IT"].id, ref.categories["Sales"].id
    assert f'value="{ivan.id}:{it}" checked' in page
    assert f'value="{ivan.id}:{sales}"' in page and f'value="{ivan.id}:{sales}" checked' not in page
    assert f'hx-post="/admin/permissions/{ivan.id}/{sales}"' in page
    assert 'action="/admin/permissions?page=1"' in page


def test_toggling_a_cell_with_htmx_saves_it_and_answers_a_fragment(client, admin, make, ref):
    sara = make.technician(ref.categories["Sales"], name="Sara")
    it = ref.categories["IT"]
    granted = client.post(
        f"/admin/permissions/{sara.id}/{it.id}", data={"perm": f"{sara.id}:{it.id}"}, headers=HX
    )
    body = granted.get_data(as_text=True)
    assert granted.status_code == 200 and "<html" not in body
    assert "HX-Request" in granted.headers["Vary"]
    assert "checked" in body and "Granted ✓" in body and 'role="status"' in body
    assert (sara.id, it.id) in grants()
    revoked = client.post(f"/admin/permissions/{sara.id}/{it.id}", data={}, headers=HX)
    body = revoked.get_data(as_text=True)
    assert "Revoked ✓" in body and "checked" not in body
    assert (sara.id, it.id) not in grants() and (sara.id, ref.categories["Sales"].id) in grants()
    history = db.session.scalars(db.select(AuditEvent.new_value).where(AuditEvent.kind == "permission")).all()
    assert history == ["granted", "revoked"]


def test_the_cell_reads_only_its_own_box_among_the_whole_form(client, admin, make, ref):
    """htmx sends the enclosing form's checked boxes; the cell acts only on its own pair."""
    ivan = make.technician(name="Ivan")
    sara = make.technician(name="Sara")
    it, sales = ref.categories["IT"], ref.categories["Sales"]
    others = [f"{sara.id}:{sales.id}", f"{ivan.id}:{sales.id}"]
    client.post(f"/admin/permissions/{ivan.id}/{it.id}", data={"perm": others}, headers=HX)
    assert grants() == set()
    client.post(
        f"/admin/permissions/{ivan.id}/{it.id}", data={"perm": [*others, f"{ivan.id}:{it.id}"]}, headers=HX
    )
    assert grants() == {(ivan.id, it.id)}


def test_granting_twice_keeps_one_grant(client, admin, make, ref):
    ivan = make.technician(ref.categories["IT"])
    it = ref.categories["IT"]
    client.post(f"/admin/permissions/{ivan.id}/{it.id}", data={"perm": f"{ivan.id}:{it.id}"}, headers=HX)
    assert db.session.scalar(db.select(db.func.count(CategoryPermission.id))) == 1


def test_only_technicians_have_permissions(client, admin, make, ref):
    customer = make.customer()
    it = ref.categories["IT"]
    response = client.post(
        f"/admin/permissions/{customer.id}/{it.id}", data={"perm": f"{customer.id}:{it.id}"}, headers=HX
    )
    assert "not a technician" in response.get_data(as_text=True)
    assert grants() == set()


def test_whole_grid_saves_as_a_plain_form(client, admin, make, ref):
    it, sales, billing = (ref.categories[n] for n in ("IT", "Sales", "Billing"))
    ivan = make.technician(it, sales)
    sara = make.technician(sales)
    outside = make.technician(billing)  # not on the submitted page: untouched
    response = client.post(
        "/admin/permissions?page=1",
        data={
            "rows": [ivan.id, sara.id],
            "perm": [f"{ivan.id}:{it.id}", f"{sara.id}:{billing.id}", f"{sara.id}:{sales.id}"],
        },
    )
    assert response.status_code == 302
    assert grants() == {
        (ivan.id, it.id),
        (sara.id, sales.id),
        (sara.id, billing.id),
        (outside.id, billing.id),
    }
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Permissions saved: 1 granted, 1 revoked." in page


def test_grid_is_paginated(client, admin, make, app, ref):
    for n in range(app.config["PER_PAGE"] + 1):
        make.technician(name=f"Tech {n:02d}")
    first = client.get("/admin/permissions").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Tech 25" not in first
    assert "Tech 25" in client.get("/admin/permissions?page=2").get_data(as_text=True)


def test_granting_shows_another_teams_ticket_and_revoking_hides_it_again(
    app, client, admin, make, ref, login
):
    """Sales and IT technicians never see each other's tickets unless an admin grants it."""
    it = ref.categories["IT"]
    sara = make.technician(ref.categories["Sales"], name="Sara")
    it_ticket = make.ticket(category=it, priority=ref.priorities["Normal"], subject="VPN down")
    sara_browser = login(sara, as_client=app.test_client())
    url = f"/portal/tickets/{it_ticket.id}"
    assert sara_browser.get(url).status_code == 404
    client.post(f"/admin/permissions/{sara.id}/{it.id}", data={"perm": f"{sara.id}:{it.id}"}, headers=HX)
    shown = sara_browser.get(url)
    assert shown.status_code == 200 and "VPN down" in shown.get_data(as_text=True)
    client.post(f"/admin/permissions/{sara.id}/{it.id}", data={}, headers=HX)
    assert sara_browser.get(url).status_code == 404


def test_unknown_cell_is_404(client, admin, make, ref):
    ivan = make.technician()
    assert client.post(f"/admin/permissions/{ivan.id}/999", headers=HX).status_code == 404
    assert client.post(f"/admin/permissions/999/{ref.categories['IT'].id}", headers=HX).status_code == 404


def test_cell_toggle_needs_the_csrf_token_that_htmx_sends(app, client, admin, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    ivan = make.technician(name="Ivan")
    it = ref.categories["IT"]
    page = client.get("/admin/permissions").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    url = f"/admin/permissions/{ivan.id}/{it.id}"
    data = {"perm": f"{ivan.id}:{it.id}"}
    assert client.post(url, data=data, headers=HX).status_code == 400
    assert grants() == set()
    saved = client.post(url, data=data, headers={**HX, "X-CSRFToken": token})
    assert saved.status_code == 200 and grants() == {(ivan.id, it.id)}
