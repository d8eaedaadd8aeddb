"""Security baseline: headers everywhere, CSRF on every state change, no stored XSS."""

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from tests.conftest import FreshUserClient, make_test_config

REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize("path", ["/login", "/healthz", "/no-such-page", "/static/app.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    response.close()
    for name, value in REQUIRED_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp and "unsafe-inline" not in csp


def test_security_headers_on_fragments(client, login, make):
    login(make.customer())
    response = client.get("/portal/tickets", headers={"HX-Request": "true"})
    assert "<html" not in response.get_data(as_text=True)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_htmx_is_configured_safely(client):
    text = client.get("/login").get_data(as_text=True)
    assert '"selfRequestsOnly": true' in text and '"allowEval": false' in text
    assert "<script>" not in text  # no inline scripts: the CSP would block them anyway


@pytest.fixture
def csrf_app(database_url, tmp_path):
    app = create_app(make_test_config(database_url, str(tmp_path), WTF_CSRF_ENABLED=True))
    app.test_client_class = FreshUserClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _token(client, path):
    import re

    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.mark.committing  # csrf_app is a second app: its own engine and connections
def test_post_without_csrf_token_is_refused_and_changes_nothing(csrf_app, make, ref):
    client = csrf_app.test_client()
    user = make.customer()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
    data = {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Low"].id,
        "subject": "s",
        "body": "b",
        "submission_key": "k",
    }
    response = client.post("/portal/tickets/new", data=data)
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    data["csrf_token"] = _token(client, "/portal/tickets/new")
    assert client.post("/portal/tickets/new", data=data).status_code == 302


@pytest.mark.committing  # csrf_app is a second app: its own engine and connections
def test_htmx_post_carries_the_token_in_a_header(csrf_app, make, ref):
    client = csrf_app.test_client()
    user = make.customer()
    ticket = make.ticket(requester=user, category=ref.categories["IT"], priority=ref.priorities["Low"])
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
    token = _token(client, f"/portal/tickets/{ticket.id}")
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page
    refused = client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"body": "hi"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 400
    ok = client.post(
        f"/portal/tickets/{ticket.id}/reply",
        data={"body": "hi"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert ok.status_code == 200 and "hi" in ok.get_data(as_text=True)


@pytest.mark.committing  # csrf_app is a second app: its own engine and connections
def test_logout_needs_the_token_too(csrf_app, make):
    client = csrf_app.test_client()
    user = make.customer()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
    assert client.post("/logout").status_code == 400
    assert client.get("/portal/tickets").status_code == 200


def test_user_text_cannot_inject_markup_or_htmx(client, login, make, ref):
    user = make.customer()
    ticket = make.ticket(
        requester=user,
        subject='<script>alert("s")</script>',
        body='<img src=x onerror=alert(1)> <div hx-get="/logout" hx-trigger="load">x</div> [link](javascript:alert(1))',
        category=ref.categories["IT"],
        priority=ref.priorities["Low"],
    )
    make.TicketFactory._meta.sqlalchemy_session_factory().commit()
    login(user)
    detail = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    listing = client.get("/portal/tickets").get_data(as_text=True)
    for text in (detail, listing):
        assert '<script>alert("s")</script>' not in text
        assert "&lt;script&gt;" in text
    assert "<img" not in detail and '<div hx-get="/logout"' not in detail and "javascript:" not in detail
    assert "hx-disable" in detail


def test_signed_in_pages_and_fragments_are_never_stored(client, login, make, ref):
    anonymous = client.get("/login")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    login(make.admin())
    for path, headers in (
        ("/agent/reports", {}),
        ("/agent/reports", {"HX-Request": "true"}),
        ("/admin/", {}),
        ("/portal/", {}),
        ("/account/password", {}),
    ):
        response = client.get(path, headers=headers)
        assert response.headers["Cache-Control"] == "private, no-store", (path, headers)
        assert "ETag" not in response.headers
    static = client.get("/static/app.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_pages_with_an_etag_are_kept_for_their_user_and_revalidated_on_every_use(client, login, make, ref):
    """The queue and the ticket page answer If-None-Match (helpdesk/conditional.py): the browser
    may keep them, privately, and must ask before each use; README, Security, says why."""
    admin = make.admin()
    ticket = make.ticket(category=ref.categories["IT"], priority=ref.priorities["Low"])
    login(admin)
    for path, headers in (
        ("/agent/", {}),
        ("/agent/", {"HX-Request": "true"}),
        (f"/agent/tickets/{ticket.id}", {}),
        (f"/agent/tickets/{ticket.id}", {"HX-Request": "true"}),
    ):
        response = client.get(path, headers=headers)
        assert response.headers["Cache-Control"] == "private, no-cache", (path, headers)
        assert response.headers["ETag"].startswith('W/"')
        assert {"Cookie", "HX-Request"} <= set(response.vary)


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
