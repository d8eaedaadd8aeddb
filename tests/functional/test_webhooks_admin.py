"""The webhook admin pages: admins only (others 404, visitors log in), CSRF on every form, clear
messages for bad input that keep what was typed, the secret shown and rotated, enable/disable,
delete and rotate after a confirmation, a paginated delivery log with Redeliver."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.webhooks import delivery
from helpdesk.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.functional.webhook_support import Receiver, add_endpoint

NEW = "/admin/webhooks/new"
GOOD = {"url": "https://hooks.example.com/in", "events": ["ticket.created", "payment.succeeded"]}


@pytest.fixture
def people(make, ref):
    it = ref.categories["IT"]
    admin = make.admin(name="Ada Admin", email="ada@example.com")
    people = {
        "admin": admin,
        "technician": make.technician(it, email="tech@example.com"),
        "customer": make.customer(email="cust@example.com"),
    }
    people["endpoint"] = add_endpoint(admin, "https://hooks.example.com/in", events=["ticket.created"])
    return people


def _count():
    return db.session.scalar(select(func.count(WebhookEndpoint.id)))


def _pages(p):
    e = p["endpoint"].id
    gets = ["/admin/webhooks/", NEW, f"/admin/webhooks/{e}"]
    posts = [
        (NEW, GOOD),
        (f"/admin/webhooks/{e}", GOOD),
        (f"/admin/webhooks/{e}/rotate", {"confirmed_action": "yes"}),
        (f"/admin/webhooks/{e}/enabled", {"enabled": "0"}),
        (f"/admin/webhooks/{e}/delete", {"confirmed_action": "yes"}),
        (f"/admin/webhooks/{e}/deliveries/1/redeliver", {}),
    ]
    return gets, posts


@pytest.mark.parametrize("role", ["technician", "customer"])
def test_others_than_admins_get_404_and_change_nothing(client, login, people, role):
    login(people[role])
    gets, posts = _pages(people)
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url, data in posts:
        assert client.post(url, data=data).status_code == 404, url
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, people["endpoint"].id)
    assert _count() == 1 and endpoint.enabled and endpoint.url == "https://hooks.example.com/in"


def test_visitors_are_sent_to_log_in(client, people):
    gets, posts = _pages(people)
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url, data in posts:
        assert client.post(url, data=data).status_code == 302, url
    assert _count() == 1


def test_the_admin_home_links_the_webhooks_section(client, login, people):
    login(people["admin"])
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/webhooks/"' in page and "Webhooks" in page


def test_an_admin_adds_an_endpoint_and_sees_its_secret(client, login, people):
    login(people["admin"])
    response = client.post(NEW, data={**GOOD, "description": "Our CRM"})
    assert response.status_code == 302
    endpoint = db.session.scalar(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc()))
    assert endpoint.events == ["ticket.created", "payment.succeeded"] and endpoint.description == "Our CRM"
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert endpoint.secret in page and "Endpoint added" in page
    assert people["endpoint"].secret != endpoint.secret  # each endpoint its own


def _new_form_key(client):
    page = client.get(NEW).get_data(as_text=True)
    return re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page).group(1)


def test_a_new_endpoint_form_sent_twice_adds_one_endpoint(client, login, people):
    """A double click or back and resubmit: the second copy of the form adds nothing (every event
    would otherwise be delivered twice) and says so, on the endpoint the first copy added."""
    login(people["admin"])
    data = {**GOOD, "url": "https://crm.example.com/hook", "submission_key": _new_form_key(client)}
    first = client.post(NEW, data=data)
    second = client.post(NEW, data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert _count() == 2  # the fixture's endpoint and this one
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "Already added: this form added the endpoint for https://crm.example.com/hook before." in page
    # another "New endpoint" page is another form: it adds another endpoint
    assert client.post(NEW, data={**data, "submission_key": _new_form_key(client)}).status_code == 302
    assert _count() == 3


def test_a_refused_new_endpoint_keeps_its_key_so_the_corrected_form_adds_one(client, login, people):
    login(people["admin"])
    key = _new_form_key(client)
    refused = client.post(NEW, data={**GOOD, "url": "http://crm.example.com/hook", "submission_key": key})
    assert refused.status_code == 422
    assert f'name="submission_key" type="hidden" value="{key}"' in refused.get_data(as_text=True)
    corrected = {**GOOD, "url": "https://crm.example.com/hook", "submission_key": key}
    assert client.post(NEW, data=corrected).status_code == 302
    assert client.post(NEW, data=corrected).status_code == 302
    assert _count() == 2


def test_a_refused_endpoint_edit_answers_422(client, login, people):
    login(people["admin"])
    endpoint = people["endpoint"]
    response = client.post(f"/admin/webhooks/{endpoint.id}", data={**GOOD, "url": "http://x.example.com/"})
    assert response.status_code == 422 and "The URL must start with https://" in response.get_data(
        as_text=True
    )
    db.session.refresh(endpoint)
    assert endpoint.url == "https://hooks.example.com/in"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "", "events": ["ticket.created"]}, "Enter the URL that should receive the events."),
        (
            {"url": "http://hooks.example.com/in", "events": ["ticket.created"]},
            "The URL must start with https://",
        ),
        (
            {"url": "ftp://hooks.example.com/in", "events": ["ticket.created"]},
            "The URL must start with https://",
        ),
        ({"url": "https://hooks.example.com/in"}, "Choose at least one event to send."),
        (
            {"url": "https://hooks.example.com/in", "events": ["nonsense"]},
            "Choose at least one event to send.",
        ),
        (
            {"url": "https://user:pw@hooks.example.com/in", "events": ["ticket.created"]},
            "Leave the user name and password out",
        ),
        ({"url": "https://127.0.0.1/in", "events": ["ticket.created"]}, "127.0.0.1 is a loopback address"),
        ({"url": "https://10.0.0.5/in", "events": ["ticket.created"]}, "10.0.0.5 is a private address"),
        (
            {"url": "https://169.254.169.254/in", "events": ["ticket.created"]},
            "169.254.169.254 is a link-local address",
        ),
        ({"url": "https://[::1]/in", "events": ["ticket.created"]}, "::1 is a loopback address"),
        ({"url": "https://localhost/in", "events": ["ticket.created"]}, "localhost is this machine"),
        (
            {"url": "https://hooks.example.com:99999/in", "events": ["ticket.created"]},
            "port must be a number",
        ),
        ({"url": "https://", "events": ["ticket.created"]}, "The URL needs a host name"),
        ({"url": "https://[::1/in", "events": ["ticket.created"]}, "That is not a URL"),
        ({"url": "https://hooks.example.com/in#x", "events": ["ticket.created"]}, "Leave the #fragment out"),
        (
            {"url": "https://hooks.example.com/" + "a" * 2000, "events": ["ticket.created"]},
            "The URL is too long",
        ),
        (
            {"url": "https://hooks..bücher.example/in", "events": ["ticket.created"]},
            "hooks..bücher.example is not a valid host name",
        ),
        ({"url": "https://hooks.example.com/in\x7fx", "events": ["ticket.created"]}, "control characters"),
        (  # fullwidth digits: IDNA makes them 127.0.0.1
            {"url": "https://１２７.０.０.１/in", "events": ["ticket.created"]},
            "127.0.0.1 is a loopback address",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_keeps_what_was_typed(client, login, people, data, message):
    login(people["admin"])
    response = client.post(NEW, data={**data, "description": "Kept text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page.replace("&#39;", "'")
    assert 'value="Kept text"' in page
    assert _count() == 1


def test_http_and_private_addresses_are_accepted_when_the_settings_allow_them(
    app, client, login, people, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    login(people["admin"])
    assert client.post(NEW, data={**GOOD, "url": "http://127.0.0.1:8080/in"}).status_code == 302
    assert _count() == 2


def test_a_url_with_non_ascii_characters_is_kept_as_typed_and_shows_how_it_is_requested(
    client, login, people
):
    login(people["admin"])
    url = "https://bücher.example/é/ü?q=☃"
    assert client.post(NEW, data={**GOOD, "url": url}).status_code == 302
    endpoint = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc())).first()
    assert endpoint.url == url
    page = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert url in page
    assert "Requested as" in page and "https://xn--bcher-kva.example/%C3%A9/%C3%BC?q=%E2%98%83" in page
    plain = client.get(f"/admin/webhooks/{people['endpoint'].id}").get_data(as_text=True)
    assert "Requested as" not in plain  # an ASCII URL is requested as it is


def test_editing_changes_the_url_and_events_but_not_the_secret(client, login, people):
    login(people["admin"])
    endpoint = people["endpoint"]
    secret = endpoint.secret
    data = {"url": "https://crm.example.com/hook", "events": ["message.created"], "internal_notes": "y"}
    assert client.post(f"/admin/webhooks/{endpoint.id}", data=data).status_code == 302
    db.session.refresh(endpoint)
    assert endpoint.url == "https://crm.example.com/hook" and endpoint.events == ["message.created"]
    assert endpoint.internal_notes and endpoint.secret == secret
    bad = client.post(f"/admin/webhooks/{endpoint.id}", data={"url": "https://crm.example.com/x"})
    assert "Choose at least one event to send." in bad.get_data(as_text=True)
    db.session.refresh(endpoint)
    assert endpoint.url == "https://crm.example.com/hook"


def test_rotating_the_secret_asks_first_then_replaces_it(client, login, people):
    login(people["admin"])
    endpoint = people["endpoint"]
    old = endpoint.secret
    question = client.post(f"/admin/webhooks/{endpoint.id}/rotate")
    assert "Rotate the signing secret?" in question.get_data(as_text=True)
    db.session.refresh(endpoint)
    assert endpoint.secret == old
    done = client.post(f"/admin/webhooks/{endpoint.id}/rotate", data={"confirmed_action": "yes"})
    assert done.status_code == 302
    db.session.refresh(endpoint)
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    assert endpoint.secret in client.get(done.headers["Location"]).get_data(as_text=True)


def test_disable_enable_and_delete_with_confirmation(client, login, people):
    login(people["admin"])
    endpoint_id = people["endpoint"].id
    assert client.post(f"/admin/webhooks/{endpoint_id}/enabled", data={"enabled": "0"}).status_code == 302
    assert not db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True).enabled
    page = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Disabled by Ada Admin." in page and "Enable endpoint" in page
    client.post(f"/admin/webhooks/{endpoint_id}/enabled", data={"enabled": "1"})
    assert db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True).enabled
    question = client.post(f"/admin/webhooks/{endpoint_id}/delete")
    assert "Delete the endpoint https://hooks.example.com/in?" in question.get_data(as_text=True)
    assert _count() == 1
    done = client.post(f"/admin/webhooks/{endpoint_id}/delete", data={"confirmed_action": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/webhooks/")
    assert _count() == 0


def test_the_delivery_log_is_paginated_and_offers_redeliver(app, client, login, people, ref, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    admin, customer = people["admin"], people["customer"]
    with Receiver() as receiver:
        endpoint = add_endpoint(admin, receiver.url, events=["ticket.created"])
        receiver.status = 500
        for n in range(3):
            lifecycle.create_ticket(
                customer,
                subject=f"T{n}",
                body="b",
                category_id=ref.categories["IT"].id,
                priority_id=ref.priorities["Low"].id,
            )
        db.session.commit()
        delivery.process_due()
        login(admin)
        first = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
        assert first.count("Failed: HTTP 500 Internal Server Error") == 2 and "Page 1 of 2" in first
        assert first.count(">Redeliver</button>") == 2 and " ms</td>" in first
        fragment = client.get(f"/admin/webhooks/{endpoint.id}?page=2", headers={"HX-Request": "true"})
        assert "<html" not in fragment.get_data(as_text=True)
        assert fragment.get_data(as_text=True).count("Failed: HTTP 500") == 1
        row = db.session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        ).first()
        receiver.status = 200
        done = client.post(f"/admin/webhooks/{endpoint.id}/deliveries/{row.id}/redeliver")
        assert done.status_code == 302
        assert row.event_id in client.get(done.headers["Location"]).get_data(as_text=True)
        delivery.process_due()
        assert receiver.requests[-1]["headers"]["Helpdesk-Event-Id"] == row.event_id
        assert (
            db.session.scalar(
                select(func.count(WebhookAttempt.id)).where(
                    WebhookAttempt.delivery_id == row.id, WebhookAttempt.ok
                )
            )
            == 1
        )
        other = add_endpoint(admin, "https://other.example.com/in", events=["ticket.created"])
        wrong = client.post(f"/admin/webhooks/{other.id}/deliveries/{row.id}/redeliver")
        assert wrong.status_code == 404  # another endpoint's delivery


def test_redeliver_to_a_disabled_endpoint_says_to_enable_it_first(client, login, people, ref):
    admin = people["admin"]
    endpoint = people["endpoint"]
    lifecycle.create_ticket(
        people["customer"],
        subject="s",
        body="b",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Low"].id,
    )
    db.session.commit()
    row = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    login(admin)
    client.post(f"/admin/webhooks/{endpoint.id}/enabled", data={"enabled": "0"})
    response = client.post(
        f"/admin/webhooks/{endpoint.id}/deliveries/{row.id}/redeliver", follow_redirects=True
    )
    assert "Enable the endpoint first" in response.get_data(as_text=True)


def test_forms_need_the_csrf_token(app, client, login, people, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login(people["admin"])
    endpoint = people["endpoint"]
    for url, data in [
        (NEW, GOOD),
        (f"/admin/webhooks/{endpoint.id}", GOOD),
        (f"/admin/webhooks/{endpoint.id}/rotate", {"confirmed_action": "yes"}),
        (f"/admin/webhooks/{endpoint.id}/enabled", {"enabled": "0"}),
        (f"/admin/webhooks/{endpoint.id}/delete", {"confirmed_action": "yes"}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True), url
    db.session.refresh(endpoint)
    assert _count() == 1 and endpoint.enabled
    page = client.get(NEW).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(NEW, data={**GOOD, "csrf_token": token}).status_code == 302
    assert _count() == 2


@pytest.mark.parametrize("page", ["abc", "-3", "0", "99999999999", "500"])
def test_a_nonsense_or_past_the_end_page_number_never_errors(client, login, people, page):
    login(people["admin"])
    for url in ("/admin/webhooks/", f"/admin/webhooks/{people['endpoint'].id}"):
        assert client.get(url, query_string={"page": page}).status_code == 200, url
