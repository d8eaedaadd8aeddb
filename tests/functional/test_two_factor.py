"""Two-factor sign-in: set-up with a server-drawn QR code, the code step after the password, codes
never accepted twice, recovery codes usable once, and roles in REQUIRE_2FA sent to set it up first."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from helpdesk.accounts import two_factor
from helpdesk.accounts.models import RecoveryCode
from helpdesk.extensions import db
from tests.factories import PASSWORD
from tests.markup_checks import markup_problems

from .agent_support import HTMX

NOW = datetime(2026, 12, 2, 12, 0, 10, tzinfo=UTC)  # 10 s into a 30-second time step


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def code(secret, steps=0):
    """The code of the current time step plus `steps` (the app accepts one step either side)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + steps)


def secret_on(page):
    return re.search(r'name="secret" type="hidden" value="([A-Z2-7]+)"', page).group(1)


def set_up(client, steps=-1):
    """Turn two factors on through the pages; returns (secret, recovery codes)."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = secret_on(page)
    done = client.post("/account/two-factor", data={"secret": secret, "code": code(secret, steps)})
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = re.findall(
        r"<code>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</code>", done.get_data(as_text=True)
    )
    return secret, codes


def password_step(client, email):
    return client.post("/login", data={"email": email, "password": PASSWORD})


def test_the_set_up_page_draws_the_qr_code_on_the_server_and_shows_the_key(client, login, make, clock):
    login(make.customer(email="c@example.com"))
    response = client.get("/account/two-factor")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<svg" in page and 'class="segno"' in page
    secret = secret_on(page)
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page  # typed by hand
    assert '<label for="code">' in page
    assert markup_problems(page) == []  # the key's <code> named by aria-label, which ARIA forbids


def test_setting_up_shows_ten_recovery_codes_once_and_stores_only_their_hashes(client, login, make, clock):
    user = make.customer(email="c@example.com")
    login(user)
    secret, codes = set_up(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    db.session.refresh(user)
    assert user.totp_secret == secret and user.totp_enabled_at is not None
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert "<code>" not in client.get("/account/two-factor").get_data(as_text=True)  # never shown again


@pytest.mark.parametrize(
    "secret, typed",
    [
        ("not base32 at all!", "123456"),
        ("A" * 500, "123456"),
        ("", "123456"),
        ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "12ab56"),
        ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "9" * 20),
        ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "000000"),
    ],
)
def test_a_bad_secret_or_code_is_a_form_error_never_a_server_error(client, login, make, clock, secret, typed):
    user = make.customer()
    login(user)
    response = client.post("/account/two-factor", data={"secret": secret, "code": typed})
    assert response.status_code == 200
    assert 'class="errors"' in response.get_data(as_text=True) or "form-errors" in response.get_data(
        as_text=True
    )
    db.session.refresh(user)
    assert user.totp_enabled_at is None


def test_signing_in_asks_for_the_code_after_the_password(app, client, login, make, clock):
    user = make.customer(email="c@example.com")
    login(user)
    secret, _codes = set_up(client)
    client.post("/logout")
    response = password_step(client, "c@example.com")
    assert response.status_code == 302 and response.location.endswith("/login/code")
    assert client.get("/portal/tickets").status_code == 302  # not signed in yet
    wrong = client.post("/login/code", data={"code": "000000"})
    assert "not right" in wrong.get_data(as_text=True)
    assert client.post("/login/code", data={"code": code(secret)}).status_code == 302
    assert client.get("/portal/tickets").status_code == 200


def test_a_code_is_never_accepted_twice(client, login, make, clock):
    user = make.customer(email="c@example.com")
    login(user)
    secret, _codes = set_up(client, steps=-1)
    used = code(secret, -1)  # the code that turned it on
    client.post("/logout")
    password_step(client, "c@example.com")
    assert "not right" in client.post("/login/code", data={"code": used}).get_data(as_text=True)
    current = code(secret)
    assert client.post("/login/code", data={"code": current}).status_code == 302
    client.post("/logout")
    password_step(client, "c@example.com")
    assert "not right" in client.post("/login/code", data={"code": current}).get_data(as_text=True)
    clock.shift(timedelta(seconds=30))
    assert client.post("/login/code", data={"code": code(secret)}).status_code == 302


def test_a_recovery_code_signs_in_once(client, login, make, clock):
    user = make.customer(email="c@example.com")
    login(user)
    _secret, codes = set_up(client)
    client.post("/logout")
    password_step(client, "c@example.com")
    assert client.post("/login/code", data={"code": codes[3].lower()}).status_code == 302
    client.post("/logout")
    password_step(client, "c@example.com")
    assert "not right" in client.post("/login/code", data={"code": codes[3]}).get_data(as_text=True)
    assert two_factor.remaining_recovery_codes(user) == 9


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")  # a Japanese input method's digits
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_a_code_typed_in_another_scripts_digits_counts_and_odd_digits_are_a_form_error(
    client, login, make, clock
):
    """A code's digits were matched as any script's digits, and hmac.compare_digest raises on
    non-ASCII text: "１２３４５６" from a Japanese keyboard was a 500 at the code step, at set-up and
    at "Confirm it's you". They are the digits the app shows; superscripts are no digits of a code."""
    user = make.customer(email="c@example.com")
    login(user)
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = secret_on(page)
    typed = code(secret).translate(ARABIC_INDIC)
    done = client.post("/account/two-factor", data={"secret": secret, "code": typed})
    assert done.status_code == 200 and "recovery codes" in done.get_data(as_text=True).lower()
    client.post("/logout")
    password_step(client, "c@example.com")
    for odd in ("²²²²²²", "¹²³⁴⁵⁶"):  # digits to isdigit(), not to int(): not a code
        refused = client.post("/login/code", data={"code": odd})
        assert refused.status_code == 200 and "not right" in refused.get_data(as_text=True)
    signed_in = client.post("/login/code", data={"code": code(secret, 1).translate(FULL_WIDTH)})
    assert signed_in.status_code == 302
    assert client.get("/portal/tickets").status_code == 200


def test_the_code_step_is_throttled(app, client, login, make, clock):
    user = make.customer(email="c@example.com")
    login(user)
    set_up(client)
    client.post("/logout")
    password_step(client, "c@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login/code", data={"code": "000000"})
    page = client.post("/login/code", data={"code": "111111"}).get_data(as_text=True)
    assert "Too many failed attempts" in page


def test_without_the_password_step_there_is_no_code_step(client):
    response = client.post("/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.location.endswith("/login")


@pytest.fixture
def admins_need_two_factors(app, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_2FA", ("admin",))


def test_a_required_role_without_two_factors_is_sent_to_set_it_up_first(
    client, make, clock, admins_need_two_factors
):
    make.admin(email="boss@example.com")
    response = password_step(client, "boss@example.com")
    assert response.status_code == 302 and response.location.endswith("/account/two-factor")
    for path in ("/admin/", "/agent/", "/account", "/admin/credits/"):
        assert client.get(path).location.endswith("/account/two-factor"), path
    htmx = client.get("/agent/", headers=HTMX)
    assert htmx.headers["HX-Redirect"].endswith("/account/two-factor")
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Your role requires two-factor sign-in" in page
    secret = secret_on(page)
    client.post("/account/two-factor", data={"secret": secret, "code": code(secret)})
    assert client.get("/admin/").status_code == 200


def test_an_existing_session_of_a_required_role_is_sent_too(client, login, make, admins_need_two_factors):
    login(make.admin())
    assert client.get("/admin/").location.endswith("/account/two-factor")
    assert client.post("/logout").status_code == 302  # logging out stays possible


def test_roles_not_required_are_left_alone(client, login, make, admins_need_two_factors):
    login(make.customer())
    assert client.get("/portal/tickets").status_code == 200


def test_promotion_to_a_required_role_ends_the_sessions_of_someone_without_two_factors(
    app, client, login, make, admins_need_two_factors
):
    from helpdesk.accounts import users

    boss = make.admin()
    tech = make.technician()
    tech_browser = login(tech, app.test_client())
    users.change_role(boss, tech, "admin")
    db.session.commit()
    assert tech_browser.get("/agent/").status_code == 302
    assert "/login" in tech_browser.get("/agent/").location


def test_turning_two_factors_off_needs_a_recent_sign_in_and_forgets_the_codes(client, login, make, clock):
    user = make.customer(email="c@example.com")
    login(user)
    secret, _codes = set_up(client)
    clock.shift(timedelta(minutes=11))
    asked = client.post("/account/two-factor/disable")
    assert "Confirm it&#39;s you" in asked.get_data(as_text=True) or "Confirm it's you" in asked.get_data(
        as_text=True
    )
    db.session.refresh(user)
    assert user.two_factor_enabled
    done = client.post("/account/two-factor/disable", data={"reauth": "1", "reauth_code": code(secret)})
    assert done.status_code == 302
    db.session.refresh(user)
    assert not user.two_factor_enabled and user.totp_secret is None
    assert two_factor.remaining_recovery_codes(user) == 0


def test_require_2fa_is_admin_in_production_none_elsewhere_and_read_from_the_environment(
    monkeypatch, tmp_path
):
    from helpdesk import create_app
    from helpdesk.config import from_environment

    for name in ("REQUIRE_2FA", "HELPDESK_REQUIRE_2FA", "HELPDESK_ENV"):
        monkeypatch.delenv(name, raising=False)
    production = {
        "HELPDESK_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
        "PUBLIC_URL": "https://desk.example",
    }
    assert create_app(production).config["REQUIRE_2FA"] == ("admin",)
    assert create_app({**production, "REQUIRE_2FA": ()}).config["REQUIRE_2FA"] == ()
    assert create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/d.db"}).config["REQUIRE_2FA"] == ()
    assert from_environment({"REQUIRE_2FA": "admin, technician"}) == {"REQUIRE_2FA": ("admin", "technician")}
