"""Admin forms opened by two admins (or in two tabs) over people, permissions, categories and
organizations: a save from a form opened before someone else's save is refused (409, 200 with
htmx) with who changed what, keeps what was typed and loses nothing of the other save; the
refused form, or a freshly loaded one, saves normally."""

import re

from helpdesk.accounts.models import User
from helpdesk.extensions import db
from tests.stale_support import HX, WHEN, refused_as_stale
from tests.stale_support import page_text as _text


def _seen(page, form_marker, name="seen_change"):
    """The version a form carries: the first `name` input after `form_marker` in the page ("" when
    there is none: the form is sent without one, as a page from before the versions would)."""
    start = page.index(form_marker)
    found = re.search(rf'name="{name}"[^>]*value="(\d*)"|value="(\d*)"[^>]*name="{name}"', page[start:])
    return next(g for g in found.groups() if g is not None) if found else ""


def _reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


# --- a person's name and e-mail (/admin/users/<id>) ----------------------------------------------


def _details(seen, name="Carl Customer", email="carl@example.com"):
    return {"name": name, "email": email, "seen_change": seen}


def test_a_stale_name_and_e_mail_form_is_refused_and_keeps_both_changes(client, ada, bob_client, make):
    carl = make.customer(name="Carl Customer", email="carl@example.com")
    url = f"/admin/users/{carl.id}"
    page = client.get(url).get_data(as_text=True)
    seen = _seen(page, "/details")
    assert _seen(bob_client.get(url).get_data(as_text=True), "/details") == seen  # both opened now
    bob = bob_client.post(f"{url}/details", data=_details(seen, email="carl.new@example.com"))
    assert bob.status_code == 302
    # Ada's tab still shows the old address and corrects only the name
    stale = client.post(f"{url}/details", data=_details(seen, name="Carl Carter"))
    body = refused_as_stale(
        stale,
        rf"The name and e-mail of Carl Customer were changed by Bob Admin {WHEN} \(e-mail "
        r"carl\.new@example\.com\) after you opened this form; nothing was saved\. Check the values "
        r"below and save again\.",
    )
    assert 'value="carl.new@example.com"' in body  # Bob's address, not the stale one
    assert 'value="Carl Carter"' in body  # what Ada typed is kept
    stored = _reload(User, carl.id)
    assert (stored.name, stored.email) == ("Carl Customer", "carl.new@example.com")
    # the refused form, sent again as shown, saves Ada's name and keeps Bob's address
    again = client.post(
        f"{url}/details", data=_details(_seen(body, "/details"), "Carl Carter", "carl.new@example.com")
    )
    assert again.status_code == 302
    stored = _reload(User, carl.id)
    assert (stored.name, stored.email) == ("Carl Carter", "carl.new@example.com")


def test_a_fresh_name_and_e_mail_form_saves_and_with_htmx_a_stale_one_says_why(client, ada, bob_client, make):
    carl = make.customer(name="Carl Customer", email="carl@example.com")
    url = f"/admin/users/{carl.id}"
    seen = _seen(client.get(url).get_data(as_text=True), "/details")
    assert bob_client.post(f"{url}/details", data=_details(seen, name="Carl C.")).status_code == 302
    stale = client.post(f"{url}/details", data=_details(seen, name="Carl K."), headers=HX)
    body = _text(stale)
    assert stale.status_code == 200 and "<html" not in body
    assert re.search(rf"changed by Bob Admin {WHEN} \(name “Carl C\.”\)", body)
    assert 'value="Carl K."' in body  # both changed the name: Ada's typing stays in the box
    assert _reload(User, carl.id).name == "Carl C."
    fresh = _seen(client.get(url).get_data(as_text=True), "/details")
    assert client.post(f"{url}/details", data=_details(fresh, name="Carl K.")).status_code == 302
    assert _reload(User, carl.id).name == "Carl K."


# --- the technician-by-category grid, saved whole without JavaScript (/admin/permissions) ---------


def _grants():
    from helpdesk.accounts.models import CategoryPermission

    db.session.expire_all()
    return set(db.session.execute(db.select(CategoryPermission.user_id, CategoryPermission.category_id)))


def _checked(page, user, category):
    box = re.search(rf'<input type="checkbox" id="perm-{user.id}-{category.id}-box"[^>]*>', page).group(0)
    return " checked" in box


def test_a_stale_grid_is_refused_and_undoes_no_grant_made_since(client, ada, bob_client, make, ref):
    it, sales = ref.categories["IT"], ref.categories["Sales"]
    ivan = make.technician(it, name="Ivan Tech")
    sara = make.technician(sales, name="Sara Tech")
    page = client.get("/admin/permissions").get_data(as_text=True)
    seen = _seen(page, "Technician permissions")
    # Bob ticks Sara's IT box (saved at once by htmx)
    bob_client.post(f"/admin/permissions/{sara.id}/{it.id}", data={"perm": f"{sara.id}:{it.id}"}, headers=HX)
    assert (sara.id, it.id) in _grants()
    # Ada's grid still shows Sara without IT; she ticks Ivan's Sales box and saves the grid
    wanted = [f"{ivan.id}:{it.id}", f"{ivan.id}:{sales.id}", f"{sara.id}:{sales.id}"]
    data = {"rows": [ivan.id, sara.id], "perm": wanted, "seen_change": seen}
    stale = client.post("/admin/permissions?page=1", data=data)
    body = refused_as_stale(
        stale,
        rf"The permissions were changed by Bob Admin {WHEN} \(Sara Tech: IT granted\) after you "
        r"opened this page; nothing was saved\. Check the boxes below and save again\.",
    )
    assert _checked(body, sara, it)  # Bob's grant, shown as it is stored
    assert _checked(body, ivan, sales)  # Ada's tick, kept
    assert _grants() == {(ivan.id, it.id), (sara.id, sales.id), (sara.id, it.id)}
    # the refused grid, saved again as shown, adds Ada's grant and keeps Bob's
    data["perm"] = [*wanted, f"{sara.id}:{it.id}"]
    data["seen_change"] = _seen(body, "Technician permissions")
    assert client.post("/admin/permissions?page=1", data=data).status_code == 302
    assert _grants() == {(ivan.id, it.id), (ivan.id, sales.id), (sara.id, sales.id), (sara.id, it.id)}


def test_boxes_ticked_with_javascript_keep_the_grid_fresh(client, ada, make, ref):
    it, sales = ref.categories["IT"], ref.categories["Sales"]
    ivan = make.technician(it, name="Ivan Tech")
    seen = _seen(client.get("/admin/permissions").get_data(as_text=True), "Technician permissions")
    # a tick (htmx) sends the grid's version and gets the new one back, out of band
    cell = client.post(
        f"/admin/permissions/{ivan.id}/{sales.id}",
        data={
            "perm": [f"{ivan.id}:{it.id}", f"{ivan.id}:{sales.id}"],
            "rows": [ivan.id],
            "seen_change": seen,
        },
        headers=HX,
    ).get_data(as_text=True)
    assert 'id="permissions-seen"' in cell and 'hx-swap-oob="true"' in cell
    fresh = _seen(cell, "permissions-seen")
    assert int(fresh) > int(seen)
    # "Save permissions" pressed afterwards in the same page is not refused by its own tick
    data = {"rows": [ivan.id], "perm": [f"{ivan.id}:{sales.id}"], "seen_change": fresh}
    assert client.post("/admin/permissions?page=1", data=data).status_code == 302
    assert _grants() == {(ivan.id, sales.id)}


# --- a category's name and description, edited in its row (/admin/categories) -------------------


def test_a_stale_rename_of_a_category_is_refused_and_keeps_what_was_typed(client, ada, bob_client, ref):
    from helpdesk.tickets.models import Category

    it = ref.categories["IT"]
    page = client.get("/admin/categories").get_data(as_text=True)
    seen = _seen(page, f"/admin/categories/{it.id}/rename")
    bob = bob_client.post(
        f"/admin/categories/{it.id}/rename", data={"name": "IT Support", "seen_change": seen}
    )
    assert bob.status_code == 302
    stale = client.post(f"/admin/categories/{it.id}/rename", data={"name": "IT Desk", "seen_change": seen})
    body = refused_as_stale(
        stale,
        rf"This category's name was changed by Bob Admin {WHEN} \(now “IT Support”\) after you opened "
        r"this page; nothing was saved\. The box still shows what you typed: rename again to replace it\.",
    )
    assert f'id="category-name-{it.id}" name="name" value="IT Desk"' in body
    assert _reload(Category, it.id).name == "IT Support"
    # the refused row carries the current version: renaming again is the admin's choice, and works
    again = {"name": "IT Desk", "seen_change": _seen(body, f"/admin/categories/{it.id}/rename")}
    assert client.post(f"/admin/categories/{it.id}/rename", data=again).status_code == 302
    assert _reload(Category, it.id).name == "IT Desk"


def test_a_stale_description_is_refused_but_another_field_s_change_does_not_refuse_it(
    client, ada, bob_client, ref
):
    from helpdesk.tickets.models import Category

    it = ref.categories["IT"]
    page = client.get("/admin/categories").get_data(as_text=True)
    name_seen = _seen(page, f"/admin/categories/{it.id}/rename")
    seen = _seen(page, f"/admin/categories/{it.id}/describe")
    # Bob rewrites the description and archives the category; Ada's row was opened before both
    described = {"description": "Laptops, phones and the VPN.", "seen_change": seen}
    assert bob_client.post(f"/admin/categories/{it.id}/describe", data=described).status_code == 302
    assert bob_client.post(f"/admin/categories/{it.id}/archive", data={"archived": "1"}).status_code == 302
    stale = client.post(
        f"/admin/categories/{it.id}/describe",
        data={"description": "Laptops and phones.", "seen_change": seen},
        headers=HX,
    )
    body = _text(stale)
    assert stale.status_code == 200 and "<html" not in body
    assert re.search(
        rf"The description of IT was changed by Bob Admin {WHEN} \(now “Laptops, phones and the VPN\.”\)",
        body,
    )
    assert ">Laptops and phones.</textarea>" in body  # what Ada typed
    assert _reload(Category, it.id).description == "Laptops, phones and the VPN."
    # nobody renamed it: Ada's rename from the same old page goes through (the archiving does not
    # make the name stale)
    renamed = client.post(
        f"/admin/categories/{it.id}/rename", data={"name": "Devices", "seen_change": name_seen}
    )
    assert renamed.status_code == 302
    stored = _reload(Category, it.id)
    assert (stored.name, stored.description, stored.archived) == (
        "Devices",
        "Laptops, phones and the VPN.",
        True,
    )
    # a freshly loaded row saves its description
    fresh = _seen(
        client.get("/admin/categories").get_data(as_text=True), f"/admin/categories/{it.id}/describe"
    )
    saved = client.post(
        f"/admin/categories/{it.id}/describe",
        data={"description": "Laptops and phones.", "seen_change": fresh},
    )
    assert saved.status_code == 302
    assert _reload(Category, it.id).description == "Laptops and phones."


# --- an organization's name, edited in its row (/admin/organizations) ------------------------------


def test_a_stale_rename_of_an_organization_is_refused_and_a_fresh_row_renames(client, ada, bob_client, make):
    from helpdesk.accounts.models import Organization

    acme = make.OrganizationFactory(name="Acme")
    url = f"/admin/organizations/{acme.id}/rename"
    seen = _seen(client.get("/admin/organizations").get_data(as_text=True), url)
    assert bob_client.post(url, data={"name": "Acme Europe", "seen_change": seen}).status_code == 302
    stale = client.post(url, data={"name": "Acme Inc", "seen_change": seen}, headers=HX)
    body = _text(stale)
    assert stale.status_code == 200 and body.lstrip().startswith(f'<tr id="organization-{acme.id}"')
    assert re.search(
        rf"This organization's name was changed by Bob Admin {WHEN} \(now “Acme Europe”\) after you "
        r"opened this page; nothing was saved\. The box still shows what you typed: rename again",
        body,
    )
    assert 'value="Acme Inc"' in body
    plain = client.post(url, data={"name": "Acme Inc", "seen_change": seen})
    assert plain.status_code == 409 and "This organization's name was changed by Bob Admin" in _text(plain)
    assert _reload(Organization, acme.id).name == "Acme Europe"
    fresh = _seen(client.get("/admin/organizations").get_data(as_text=True), url)
    assert client.post(url, data={"name": "Acme Inc", "seen_change": fresh}).status_code == 302
    assert _reload(Organization, acme.id).name == "Acme Inc"
