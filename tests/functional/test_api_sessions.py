"""The API ignores the session cookie entirely: a request with a bearer token acts as the token's
owner whatever session the browser holds (one sent to set up two factors first, one half-way
through its second factor, another user's), and without a token it is 401 as always."""

import time

import pytest

from .api_support import bearer, is_problem


@pytest.fixture
def admins_need_two_factors(app, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_2FA", ("admin",))


def test_a_session_sent_to_set_up_two_factors_does_not_redirect_the_api(
    client, desk, login, admins_need_two_factors
):
    headers = bearer(desk.admin)
    login(desk.admin)  # an admin without two factors: the pages send them to set them up
    page = client.get("/admin/users")
    assert page.status_code == 302 and page.location.endswith("/account/two-factor")
    answer = client.get("/api/v1/users", headers=headers)
    assert answer.status_code == 200 and answer.get_json()["items"]
    assert "Set-Cookie" not in answer.headers  # nothing written to the session either
    refused = client.get("/api/v1/users")  # the cookie alone: 401, as without two factors
    assert is_problem(refused, 401) and "session cookie is not accepted" in refused.get_json()["detail"]
    assert client.get("/admin/users").status_code == 302  # the pages' rule still holds


def test_a_sign_in_waiting_for_its_code_does_not_matter_to_the_api(client, desk):
    with client.session_transaction() as session:
        session["pending_login"] = {
            "id": desk.admin.get_id(),
            "remember": False,
            "next": None,
            "at": time.time(),
        }
    answer = client.get("/api/v1/users", headers=bearer(desk.admin))
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    with client.session_transaction() as session:
        assert session["pending_login"]["id"] == desk.admin.get_id()  # the pages' state is untouched


def test_the_token_decides_who_acts_not_the_cookie(client, desk, login):
    login(desk.admin)
    customer = bearer(desk.requester)
    assert is_problem(
        client.get("/api/v1/users", headers=customer), 404
    )  # admins only: not the cookie's admin
    assert client.get("/admin/users").status_code == 200  # the cookie still signs the pages in
