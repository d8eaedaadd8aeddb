"""Admins create, rename, archive and restore categories; archived ones leave the new-ticket form."""

import html
import re

import pytest

from helpdesk.accounts.models import AuditEvent
from helpdesk.extensions import db
from helpdesk.tickets.models import Category, Ticket

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(make, login):
    user = make.admin(email="admin@example.test")
    login(user)
    return user


def category_named(name):
    return db.session.scalar(db.select(Category).where(Category.name == name))


def test_create_category(client, admin, ref):
    response = client.post("/admin/categories", data={"name": "  Hardware   repairs "})
    assert response.status_code == 302
    assert category_named("Hardware repairs") is not None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Category “Hardware repairs” created." in page
    assert 'value="Hardware repairs"' in page


def test_duplicate_name_is_refused_whatever_the_case(client, admin, ref):
    response = client.post("/admin/categories", data={"name": "sales"})
    assert response.status_code == 422
    assert "A category named “sales” already exists." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Category.id))) == 3


def test_empty_name_is_refused_with_a_message(client, admin, ref):
    response = client.post("/admin/categories", data={"name": "   "})
    assert response.status_code == 422
    assert "Enter a category name." in response.get_data(as_text=True)


def test_create_with_htmx_returns_the_section_fragment(client, admin, ref):
    response = client.post("/admin/categories", data={"name": "Hardware"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert 'id="category-section"' in body and "Category “Hardware” created." in body


def test_rename_keeps_the_tickets(client, admin, ref, make):
    it = ref.categories["IT"]
    ticket = make.ticket(category=it, priority=ref.priorities["Low"])
    response = client.post(f"/admin/categories/{it.id}/rename", data={"name": "Computers"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Category, it.id).name == "Computers"
    assert db.session.get(Ticket, ticket.id).category_id == it.id
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.category_id == it.id))
    assert (event.actor_id, event.old_value, event.new_value) == (admin.id, "IT", "Computers")


def test_rename_to_an_existing_name_shows_the_error_on_the_row(client, admin, ref):
    it = ref.categories["IT"]
    response = client.post(f"/admin/categories/{it.id}/rename", data={"name": "Billing"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith(f'<tr id="category-{it.id}"')
    assert "A category named “Billing” already exists." in body and 'aria-invalid="true"' in body
    db.session.expire_all()
    assert db.session.get(Category, it.id).name == "IT"


def test_rename_error_without_javascript_renders_the_page(client, admin, ref):
    it = ref.categories["IT"]
    response = client.post(f"/admin/categories/{it.id}/rename", data={"name": "billing"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in body
    assert "A category named “billing” already exists." in body


def test_rename_with_htmx_confirms_on_the_row(client, admin, ref):
    it = ref.categories["IT"]
    response = client.post(f"/admin/categories/{it.id}/rename", data={"name": "Computers"}, headers=HX)
    body = response.get_data(as_text=True)
    assert "<html" not in body and "HX-Request" in response.headers["Vary"]
    assert "Saved: renamed to “Computers”." in body


def test_archived_category_leaves_the_new_ticket_form_but_keeps_its_tickets(client, admin, ref, make, login):
    sales = ref.categories["Sales"]
    ticket = make.ticket(category=sales, priority=ref.priorities["Low"])
    response = client.post(f"/admin/categories/{sales.id}/archive", data={"archived": "1"}, headers=HX)
    assert "no longer appears on the new-ticket form" in response.get_data(as_text=True)
    assert "Restore" in response.get_data(as_text=True)
    customer = make.customer()
    login(customer)
    form = client.get("/portal/tickets/new").get_data(as_text=True)
    assert f'<option value="{sales.id}"' not in form
    refused = client.post(
        "/portal/tickets/new",
        data={
            "category": sales.id,
            "priority": ref.priorities["Low"].id,
            "subject": "s",
            "body": "b",
            "submission_key": "k",
        },
    )
    assert refused.status_code == 200 and db.session.scalar(db.select(db.func.count(Ticket.id))) == 1
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).category_id == sales.id


def test_restore_brings_the_category_back(client, admin, ref, make, login):
    sales = ref.categories["Sales"]
    client.post(f"/admin/categories/{sales.id}/archive", data={"archived": "1"})
    response = client.post(f"/admin/categories/{sales.id}/archive", data={"archived": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Category, sales.id).archived
    login(make.customer())
    assert f'<option value="{sales.id}"' in client.get("/portal/tickets/new").get_data(as_text=True)


def test_category_list_is_paginated(client, admin, app, make):
    for n in range(app.config["PER_PAGE"] + 2):
        make.CategoryFactory(name=f"Cat {n:02d}")
    first = client.get("/admin/categories").get_data(as_text=True)
    second = client.get("/admin/categories?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'value="Cat 00"' in first and 'value="Cat 26"' not in first
    assert 'value="Cat 26"' in second


def test_unknown_category_is_404(client, admin):
    assert client.post("/admin/categories/999/rename", data={"name": "x"}).status_code == 404


# What each category is for: written by admins, read by whoever files a ticket.


def test_create_with_a_description(client, admin, ref):
    response = client.post(
        "/admin/categories", data={"name": "Hardware", "description": "  Broken   screens\nand keyboards. "}
    )
    assert response.status_code == 302
    category = category_named("Hardware")
    assert category.description == "Broken screens and keyboards."
    event = db.session.scalar(
        db.select(AuditEvent).where(
            AuditEvent.category_id == category.id, AuditEvent.kind == "category_description"
        )
    )
    assert (event.actor_id, event.old_value, event.new_value) == (
        admin.id,
        "",
        "Broken screens and keyboards.",
    )


def test_create_with_a_too_long_description_keeps_what_was_typed(client, admin, ref):
    long = "x" * 201
    response = client.post("/admin/categories", data={"name": "Hardware", "description": long})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use at most 200 characters for the description (this one has 201)." in body
    assert 'value="Hardware"' in body and f'value="{long}"' in body
    assert 'aria-describedby="description-errors"' in body
    assert category_named("Hardware") is None


def test_describe_with_htmx_confirms_on_the_row_and_is_in_the_history(client, admin, ref):
    it = ref.categories["IT"]
    old = it.description
    response = client.post(
        f"/admin/categories/{it.id}/describe", data={"description": "Laptops and <b>VPN</b>."}, headers=HX
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(f'<tr id="category-{it.id}"')
    assert "Saved: description updated." in body
    assert ">Laptops and &lt;b&gt;VPN&lt;/b&gt;.</textarea>" in body
    db.session.expire_all()
    assert db.session.get(Category, it.id).description == "Laptops and <b>VPN</b>."
    history = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "Category IT: description “Laptops and &lt;b&gt;VPN&lt;/b&gt;.”" in history
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.kind == "category_description"))
    assert (event.old_value, event.category_id) == (old, it.id)


def test_describe_without_javascript_redirects_with_the_confirmation(client, admin, ref):
    it = ref.categories["IT"]
    response = client.post(f"/admin/categories/{it.id}/describe", data={"description": ""})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: description removed." in page
    db.session.expire_all()
    assert db.session.get(Category, it.id).description == ""


def test_too_long_description_is_refused_on_the_row_with_what_was_typed(client, admin, ref):
    it = ref.categories["IT"]
    old = it.description
    long = "word " * 50
    for headers in (HX, {}):
        response = client.post(
            f"/admin/categories/{it.id}/describe", data={"description": long}, headers=headers
        )
        body = response.get_data(as_text=True)
        assert response.status_code == (200 if headers else 422) and ("<html" in body) == (not headers)
        assert "Use at most 200 characters for the description (this one has 249)." in body
        assert f">{long}</textarea>" in body
        assert f'aria-describedby="category-description-error-{it.id}"' in body
        assert 'value="IT"' in body  # the name's field shows the name, not the refused text
    db.session.expire_all()
    assert db.session.get(Category, it.id).description == old


def test_unknown_category_cannot_be_described(client, admin):
    assert client.post("/admin/categories/999/describe", data={"description": "x"}).status_code == 404


def test_the_last_open_category_cannot_be_archived(client, admin, ref):
    for name in ("Sales", "Billing"):
        client.post(f"/admin/categories/{ref.categories[name].id}/archive", data={"archived": "1"})
    it = ref.categories["IT"]
    answer = client.post(f"/admin/categories/{it.id}/archive", data={"archived": "1"}, headers=HX)
    assert "“IT” is the last open category: customers could not open tickets without one." in answer.get_data(
        as_text=True
    )
    page = client.post(f"/admin/categories/{it.id}/archive", data={"archived": "1"}).get_data(as_text=True)
    assert "is the last open category" in page
    db.session.expire_all()
    assert not db.session.get(Category, it.id).archived


def _rename_action(page, category):
    """The address the row's rename form posts to, as the page writes it."""
    found = re.search(rf'action="(/admin/categories/{category.id}/rename[^"]*)"', page)
    return html.unescape(found.group(1))


def test_a_refused_rename_on_a_later_page_without_javascript_shows_that_row_with_what_was_typed(
    client, admin, app, make
):
    for n in range(app.config["PER_PAGE"] + 2):
        make.CategoryFactory(name=f"Cat {n:02d}")
    last = category_named("Cat 26")
    page = client.get("/admin/categories?page=2").get_data(as_text=True)
    refused = client.post(_rename_action(page, last), data={"name": "cat 00 "})
    body = refused.get_data(as_text=True)
    # the admin sees the row they were on, the refusal beside it and the name they typed
    assert refused.status_code == 422 and "Page 2 of 2" in body
    assert "A category named “cat 00” already exists." in body
    assert 'value="cat 00 "' in body
    saved = client.post(_rename_action(page, last), data={"name": "Cat 26 (printers)"})
    assert saved.status_code == 302 and "page=2" in saved.headers["Location"]
    back = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Saved: renamed to “Cat 26 (printers)”." in back and 'value="Cat 26 (printers)"' in back
