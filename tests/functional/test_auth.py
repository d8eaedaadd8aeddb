"""Accounts: register, log in (throttled), next=, remember me, log out, change password.

More on each rule: test_registration.py, test_passwords.py, test_login_throttle.py,
test_two_factor.py and test_reauth.py."""

from datetime import timedelta

import pytest

from helpdesk.accounts.models import Throttle, User
from helpdesk.extensions import db
from tests.factories import PASSWORD


def _register(client, **overrides):
    data = {
        "name": "Erin",
        "email": "erin@example.com",
        "password": "a-long-password",
        "confirm": "a-long-password",
    }
    data.update(overrides)
    return client.post("/register", data=data)


def test_register_creates_a_customer_who_must_confirm_the_address(client):
    response = _register(client)
    assert response.status_code == 200 and "Check your mail" in response.get_data(as_text=True)
    user = db.session.scalar(db.select(User).where(User.email == "erin@example.com"))
    assert user.role == "customer" and user.password_hash.startswith("$argon2id$")
    assert user.email_confirmed_at is None
    assert client.get("/portal/tickets").status_code == 302  # not signed in


def test_register_ignores_undeclared_fields(client):
    _register(client, role="admin", is_org_manager="y", organization_id="1", active="0")
    user = db.session.scalar(db.select(User).where(User.email == "erin@example.com"))
    assert (user.role, user.is_org_manager, user.organization_id, user.active) == (
        "customer",
        False,
        None,
        True,
    )


def test_register_rejects_mismatched_and_short_passwords(client):
    text = _register(client, password="short", confirm="other").get_data(as_text=True)
    assert "at least 10" in text.lower() or "Field must be at least 10" in text
    assert "The passwords differ." in text
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_login_and_wrong_password_or_unknown_email_look_the_same(client, make):
    make.customer(email="c@example.com")
    wrong = client.post("/login", data={"email": "c@example.com", "password": "nope"}).get_data(as_text=True)
    unknown = client.post("/login", data={"email": "x@example.com", "password": "nope"}).get_data(
        as_text=True
    )
    assert "E-mail or password is not correct." in wrong and "E-mail or password is not correct." in unknown
    ok = client.post("/login", data={"email": "C@Example.com ", "password": PASSWORD})
    assert ok.status_code == 302


def test_login_is_throttled_after_repeated_failures(client, make):
    make.customer(email="c@example.com")
    for _ in range(5):
        client.post("/login", data={"email": "c@example.com", "password": "wrong"})
    blocked = client.post("/login", data={"email": "c@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    assert client.get("/portal/tickets").status_code == 302  # still logged out


def test_successful_login_clears_the_failure_count(client, make):
    make.customer(email="c@example.com")
    for _ in range(3):
        client.post("/login", data={"email": "c@example.com", "password": "wrong"})
    client.post("/login", data={"email": "c@example.com", "password": PASSWORD})
    assert db.session.get(Throttle, "pair:c@example.com|127.0.0.1", populate_existing=True) is None
    assert db.session.get(Throttle, "acct:c@example.com", populate_existing=True).count == 3


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/portal/tickets/new", "/portal/tickets/new"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_goes_to_local_paths(client, make, target, expected):
    make.customer(email="c@example.com")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": "c@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == expected


def test_remember_me_sets_a_persistent_http_only_cookie(client, make):
    make.customer(email="c@example.com")
    response = client.post("/login", data={"email": "c@example.com", "password": PASSWORD, "remember": "y"})
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert cookies and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]


def test_login_starts_a_fresh_session(client, make):
    make.customer(email="c@example.com")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    client.post("/login", data={"email": "c@example.com", "password": PASSWORD})
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_logout_is_post_only_and_ends_every_session(app, client, make, login):
    user = make.customer()
    other_device = login(user, app.test_client())
    login(user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/portal/tickets").status_code == 302
    assert other_device.get("/portal/tickets").status_code == 302


def test_change_password_keeps_this_session_and_ends_the_others(app, client, make, login):
    user = make.customer()
    other_device = login(user, app.test_client())
    login(user)
    wrong = client.post(
        "/account/password", data={"current_password": "nope", "new_password": "n" * 12, "confirm": "n" * 12}
    )
    assert "not correct" in wrong.get_data(as_text=True)
    ok = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "n" * 12, "confirm": "n" * 12},
    )
    assert ok.status_code == 302
    assert client.get("/portal/tickets").status_code == 200
    assert other_device.get("/portal/tickets").status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": "n" * 12}).status_code == 302


def test_guessing_the_current_password_is_throttled_and_refused_new_ones_cost_nothing(
    app, client, make, login
):
    """A session left signed in on a shared computer let anyone try current passwords without end
    at /account/password, and take the account with the one that fits."""
    import time_machine

    from helpdesk.dbtypes import utcnow

    user = make.customer(email="c@example.com")
    login(user)
    limit = app.config["LOGIN_MAX_FAILURES"]

    def change(current, new="n" * 12):
        data = {"current_password": current, "new_password": new, "confirm": new}
        return client.post("/account/password", data=data)

    for _ in range(limit + 1):  # the owner's own mistakes in the new password count nothing
        assert "commonly used" in change(PASSWORD, "password123").get_data(as_text=True)
    for n in range(limit):
        assert "The current password is not correct." in change(f"guess-{n}").get_data(as_text=True)
    refused = change(PASSWORD)
    assert refused.status_code == 200 and "Too many failed attempts" in refused.get_data(as_text=True)
    signed_out = app.test_client()
    assert signed_out.post("/login", data={"email": "c@example.com", "password": "n" * 12}).status_code == 200
    later = utcnow() + timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"], seconds=1)
    with time_machine.travel(later, tick=False):
        assert change(PASSWORD).status_code == 302


def test_deactivated_user_cannot_log_in_and_loses_the_session(client, make, login):
    user = make.customer(email="c@example.com")
    login(user)
    user.active = False
    db.session.commit()
    assert client.get("/portal/tickets").status_code == 302
    text = client.post("/login", data={"email": "c@example.com", "password": PASSWORD}).get_data(as_text=True)
    assert "E-mail or password is not correct." in text


def test_passwords_use_argon2id_with_rfc_9106_parameters_by_default():
    from argon2 import PasswordHasher

    from helpdesk.config import Config

    assert (Config.ARGON2_TIME_COST, Config.ARGON2_MEMORY_COST, Config.ARGON2_PARALLELISM) == (3, 65536, 4)
    hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
    assert hasher.hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_registration_takes_the_browser_time_zone_and_falls_back_to_utc(app, client):
    _register(client, timezone="Europe/Paris")
    _register(app.test_client(), email="other@example.com", timezone="Not/AZone")
    zones = dict(db.session.execute(db.select(User.email, User.timezone)).all())
    assert zones == {"erin@example.com": "Europe/Paris", "other@example.com": "UTC"}


def test_a_name_of_only_spaces_is_refused_at_registration_and_in_the_profile(client, login, make):
    page = _register(client, name="   ").get_data(as_text=True)
    assert "Your name is required." in page
    assert db.session.scalar(db.select(User).where(User.email == "erin@example.com")) is None
    user = make.customer(name="Kept Name")
    login(user)
    page = client.post("/account", data={"name": "   ", "timezone": "UTC"}).get_data(as_text=True)
    assert "Your name is required." in page and "Profile saved." not in page
    assert db.session.get(User, user.id).name == "Kept Name"


def test_profile_changes_the_time_zone_used_for_dates(client, login, make, ref):
    from datetime import UTC, datetime

    user = make.customer()
    created = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    ticket = make.ticket(
        requester=user, created_at=created, category=ref.categories["IT"], priority=ref.priorities["Urgent"]
    )
    login(user)
    assert "Sun 22 Nov 2026, 00:30 UTC" in client.get(f"/portal/tickets/{ticket.id}").get_data(
        as_text=True
    )  # due, UTC
    bad = client.post("/account", data={"name": "New Name", "timezone": "Mars/Olympus"})
    assert "choose one of the listed options" in bad.get_data(as_text=True)
    client.post("/account", data={"name": "New Name", "timezone": "Asia/Tokyo"})
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Sun 22 Nov 2026, 09:30 JST" in page and "New Name" in page


def test_signed_out_elsewhere_an_htmx_request_answers_401_and_a_page_goes_to_login(
    app, client, make, login, ref
):
    """Every session ended from another device: the page a browser asks for goes to the login page
    (and back after); what htmx asks for answers 401, so the login page is never swapped into the
    queue's table or the presence box, and a background request never navigates away from a draft."""
    it = ref.categories["IT"]
    agent = make.technician(it)
    ticket = make.ticket(category=it)
    this_device = login(agent, app.test_client())
    login(agent)
    assert client.post("/logout").status_code == 302  # ends this session and the other device's
    htmx = {"HX-Request": "true"}
    for answer in (
        this_device.get("/agent/", headers=htmx),
        this_device.post(f"/agent/tickets/{ticket.id}/presence", headers=htmx),
        this_device.post(f"/agent/tickets/{ticket.id}/draft", data={"body": "Still here"}, headers=htmx),
    ):
        assert answer.status_code == 401 and "Location" not in answer.headers
        assert "Password" not in answer.get_data(as_text=True)
    page = this_device.get("/agent/?status=waiting")
    assert page.status_code == 302
    assert (
        page.headers["Location"].startswith("/login?next=") and "status%3Dwaiting" in page.headers["Location"]
    )


def test_a_new_password_is_not_the_current_one_nor_the_address_or_name(app, client, login, make):
    user = make.customer(email="quinn.taylor@example.com", name="Quinn Taylor")
    login(user)
    for new, message in [
        (PASSWORD, "Choose a new password: this one is your current password."),
        ("quinn.taylor@example.com", "Choose a password that is not your e-mail address or your name."),
        ("QUINN.TAYLOR", "Choose a password that is not your e-mail address or your name."),
        ("quinn  taylor", "Choose a password that is not your e-mail address or your name."),
    ]:
        data = {"current_password": PASSWORD, "new_password": new, "confirm": new}
        page = client.post("/account/password", data=data).get_data(as_text=True)
        assert message in page, new
    signed_out = app.test_client()
    page = _register(signed_out, email="sam.rivera@example.com", password="sam.rivera", confirm="sam.rivera")
    assert "not your e-mail address or your name" in page.get_data(as_text=True)
