"""Admins manage people from the pages: add a person (who gets a link to choose a password),
correct a name or e-mail address, and turn two-step sign-in off for someone locked out."""

import re

import pyotp
import pytest
from sqlalchemy import func, select

from helpdesk.accounts import two_factor
from helpdesk.accounts.auth import hash_password
from helpdesk.accounts.models import AuditEvent, RecoveryCode, User
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from tests.functional.test_admin_users import admin as admin  # noqa: PLC0414 - the same fixture
from tests.functional.test_admin_users import reload
from tests.mail_support import worker_claims, written
from tests.markup_checks import markup_problems

HX = {"HX-Request": "true"}
NEW = {"name": "Nina New", "email": "nina@example.com", "role": "technician"}


def user_by_email(email):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def invitations(email):
    return db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_addr == email, OutboxMessage.kind == "account_invited")
        .order_by(OutboxMessage.id)
    ).all()


def fill_seats(make, ref, count=3):
    """Technicians until the default limit of 4 seats is used (with the admin)."""
    return [make.technician(ref.categories["IT"], email=f"tech{n}@example.test") for n in range(count)]


def with_two_factor(user):
    """Two-step sign-in turned on for `user`, as the set-up page does it (a code from the secret)."""
    secret = two_factor.new_secret()
    two_factor.enable(user, secret, pyotp.TOTP(secret).now())
    db.session.commit()
    return user


# --- adding a person ---------------------------------------------------------------------------


def test_the_people_page_links_to_a_labelled_form_with_customer_chosen(client, admin):
    people = client.get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/users/new"' in people and "Add a person" in people
    page = client.get("/admin/users/new").get_data(as_text=True)
    for name in ("name", "email", "role"):
        assert f'<label for="{name}">' in page and f'id="{name}"' in page
    assert 'type="email"' in page and '<option selected value="customer">' in page
    assert 'name="csrf_token"' in page and markup_problems(page) == []


def test_adding_a_technician_mails_one_link_that_sets_a_password_and_logs_in(app, client, admin):
    response = client.post("/admin/users/new", data=NEW)
    nina = user_by_email("nina@example.com")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/users/{nina.id}")
    assert (nina.name, nina.role, nina.password_hash, nina.active) == ("Nina New", "technician", None, True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitation sent to nina@example.com." in page
    assert "Nina New: role customer → technician" in page and "Ada Admin" in page

    [mail] = written(invitations("nina@example.com"))
    assert "Ada Admin added you to" in mail.body_text and "as a technician." in mail.body_text
    assert "/reset-password" in mail.body_text and "/login" in mail.body_text
    link = re.search(r"http://\S+/reset-password/\S+", mail.body_text).group(0)
    assert link in mail.body_html

    theirs = app.test_client()
    path = link.split("127.0.0.1:5000", 1)[1]
    assert theirs.get(path).status_code == 200
    chosen = theirs.post(path, data={"new_password": "a-brand-new-pass", "confirm": "a-brand-new-pass"})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/login")
    signed_in = theirs.post("/login", data={"email": "nina@example.com", "password": "a-brand-new-pass"})
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]
    assert theirs.get("/agent/").status_code == 200  # a technician, in the agent console


def test_a_customer_is_invited_as_a_customer(client, admin):
    client.post("/admin/users/new", data={**NEW, "role": "customer"})
    assert user_by_email("nina@example.com").role == "customer"
    [mail] = written(invitations("nina@example.com"))
    assert "as a customer." in mail.body_text


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({**NEW, "name": "   "}, "name", "Name is required."),
        ({**NEW, "email": "nina-at-example"}, "email", None),
        ({**NEW, "role": "owner"}, "role", "choose one of the listed options"),
    ],
    ids=["blank name", "bad e-mail", "unknown role"],
)
def test_a_refusal_keeps_what_was_typed_next_to_the_field(client, admin, data, field, message):
    response = client.post("/admin/users/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-errors"' in page and f'aria-describedby="{field}-errors"' in page
    if message:
        assert message in page
    for name, value in data.items():
        if name != "role" and value.strip():
            assert f'value="{value}"' in page, name
    assert markup_problems(page) == []
    assert db.session.scalar(select(func.count(User.id))) == 1 and invitations(data["email"]) == []


def test_a_taken_address_is_refused_whatever_its_case(client, admin, make):
    make.customer(email="nina@example.com", name="Other Nina")
    response = client.post("/admin/users/new", data={**NEW, "email": "NINA@example.com"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "An account with this e-mail already exists." in page
    assert 'id="email-errors"' in page and 'value="NINA@example.com"' in page and 'value="Nina New"' in page
    assert user_by_email("nina@example.com").name == "Other Nina"
    assert invitations("nina@example.com") == []


def test_over_the_seat_limit_asks_first_and_creates_nothing_until_confirmed(client, admin, make, ref):
    fill_seats(make, ref)
    asked = client.post("/admin/users/new", data=NEW)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "Over the seat limit." in page and "This makes 5 agents on a plan for 4 seats." in page
    assert 'name="confirmed" value="y"' in page and "Confirm: add Nina New as technician" in page
    assert markup_problems(page) == []
    assert user_by_email("nina@example.com") is None and invitations("nina@example.com") == []
    confirmed = client.post("/admin/users/new", data={**NEW, "confirmed": "y"})
    assert confirmed.status_code == 302
    assert user_by_email("nina@example.com").role == "technician"
    assert len(invitations("nina@example.com")) == 1


def test_a_customer_takes_no_seat_so_nothing_is_asked(client, admin, make, ref):
    fill_seats(make, ref)
    response = client.post("/admin/users/new", data={**NEW, "role": "customer"})
    assert response.status_code == 302 and user_by_email("nina@example.com").role == "customer"


# --- name and e-mail ---------------------------------------------------------------------------


def test_correcting_name_and_address_saves_both_with_history(client, admin, make):
    carl = make.customer(name="Carl Smyth", email="carl@example.test")
    form = client.get(f"/admin/users/{carl.id}").get_data(as_text=True)
    assert 'value="Carl Smyth"' in form and 'value="carl@example.test"' in form
    assert "Save name and e-mail" in form and markup_problems(form) == []
    response = client.post(
        f"/admin/users/{carl.id}/details", data={"name": "Carl Smith", "email": "Carl.Smith@Example.com"}
    )
    assert response.status_code == 302
    carl = reload(carl)
    assert (carl.name, carl.email) == ("Carl Smith", "carl.smith@example.com")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: name and e-mail of Carl Smith." in page
    assert "Carl Smith: Carl Smyth → Carl Smith" in page
    assert "Carl Smith: carl@example.test → carl.smith@example.com" in page
    kinds = db.session.scalars(select(AuditEvent.kind).where(AuditEvent.target_user_id == carl.id)).all()
    assert kinds == ["details", "details"]
    same = client.post(
        f"/admin/users/{carl.id}/details", data={"name": "Carl Smith", "email": "carl.smith@example.com"}
    )
    assert "Nothing to change." in client.get(same.headers["Location"]).get_data(as_text=True)


def test_with_htmx_the_details_answer_is_the_account_panel(client, admin, make):
    carl = make.customer(name="Carl Smyth", email="carl@example.test")
    response = client.post(
        f"/admin/users/{carl.id}/details",
        data={"name": "Carl Smith", "email": "carl@example.test"},
        headers=HX,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "HX-Request" in response.headers["Vary"]
    assert 'id="account-panel"' in body and "Saved: name and e-mail of Carl Smith." in body


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_an_address_another_account_has_is_refused_keeping_what_was_typed(client, admin, make, headers):
    make.customer(email="taken@example.com")
    carl = make.customer(name="Carl Smyth", email="carl@example.test")
    response = client.post(
        f"/admin/users/{carl.id}/details",
        data={"name": "Carl Smith", "email": "TAKEN@example.com"},
        headers=headers,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Another account has this e-mail address." in page
    assert 'value="Carl Smith"' in page and 'value="TAKEN@example.com"' in page
    carl = reload(carl)
    assert (carl.name, carl.email) == ("Carl Smyth", "carl@example.test")
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_a_blank_name_is_refused_next_to_the_field(client, admin, make):
    carl = make.customer(name="Carl Smyth", email="carl@example.test")
    response = client.post(f"/admin/users/{carl.id}/details", data={"name": " ", "email": "new@example.com"})
    page = response.get_data(as_text=True)
    assert "Name is required." in page and 'id="name-errors"' in page and 'value="new@example.com"' in page
    assert markup_problems(page) == []
    assert reload(carl).email == "carl@example.test"


def test_a_new_address_must_be_well_formed_but_the_stored_one_need_not_be(client, admin, make):
    carl = make.customer(name="Carl Smyth", email="carl@corp.local")  # as `flask create-user` may make it
    kept = client.post(
        f"/admin/users/{carl.id}/details", data={"name": "Carl Smith", "email": "CARL@corp.local"}
    )
    assert kept.status_code == 302 and reload(carl).name == "Carl Smith"
    refused = client.post(
        f"/admin/users/{carl.id}/details", data={"name": "Carl Smith", "email": "carl@nowhere"}
    )
    page = refused.get_data(as_text=True)
    assert 'id="email-errors"' in page and 'value="carl@nowhere"' in page
    assert reload(carl).email == "carl@corp.local"


# --- two-step sign-in ----------------------------------------------------------------------------


def test_turning_two_step_sign_in_off_asks_first_then_ends_their_sessions(app, client, admin, make, login):
    tess = with_two_factor(make.technician(name="Tess", email="tess@example.test"))
    their_browser = login(tess, as_client=app.test_client())
    assert their_browser.get("/agent/").status_code == 200
    page = client.get(f"/admin/users/{tess.id}").get_data(as_text=True)
    assert "Turn off two-step sign-in for Tess" in page and markup_problems(page) == []

    path = f"/admin/users/{tess.id}/two-factor/disable"
    asked = client.post(path).get_data(as_text=True)
    assert "Turn off two-step sign-in for Tess?" in asked
    assert (
        "They sign in with their password alone until they set it up again; their sessions end now." in asked
    )
    assert f'href="/admin/users/{tess.id}">Cancel' in asked
    assert reload(tess).two_factor_enabled

    response = client.post(path, data={"confirmed_action": "yes"})
    assert response.status_code == 302
    tess = reload(tess)
    assert not tess.two_factor_enabled and tess.totp_secret is None
    assert db.session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == tess.id)) == 0
    kicked = their_browser.get("/agent/")
    assert kicked.status_code == 302 and "/login" in kicked.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: two-step sign-in is off for Tess" in page
    assert "Tess: two-step sign-in turned off" in page and "Turn off two-step sign-in for Tess" not in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.target_user_id == tess.id))
    assert (event.kind, event.actor_id) == ("two_factor", admin.id)


def test_with_htmx_the_question_is_a_dialog(client, admin, make):
    tess = with_two_factor(make.technician(name="Tess"))
    response = client.post(f"/admin/users/{tess.id}/two-factor/disable", headers=HX)
    assert response.headers["HX-Retarget"] == "#confirm-host"
    assert "Turn off two-step sign-in for Tess?" in response.get_data(as_text=True)
    assert reload(tess).two_factor_enabled


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_when_it_is_not_on_the_answer_says_so(client, admin, make, headers):
    carl = make.customer(name="Carl")
    response = client.post(
        f"/admin/users/{carl.id}/two-factor/disable", data={"confirmed_action": "yes"}, headers=headers
    )
    assert response.status_code in (200, 302)
    page = (
        response.get_data(as_text=True)
        if headers
        else client.get(response.headers["Location"]).get_data(as_text=True)
    )
    assert "Two-step sign-in is not on for Carl." in page
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_an_admin_may_turn_off_their_own_and_is_signed_out(client, admin):
    with_two_factor(admin)
    asked = client.post(f"/admin/users/{admin.id}/two-factor/disable").get_data(as_text=True)
    assert "your sessions end now, this one included" in asked
    client.post(f"/admin/users/{admin.id}/two-factor/disable", data={"confirmed_action": "yes"})
    assert not reload(admin).two_factor_enabled
    after = client.get("/admin/users")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


# --- who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["technician", "customer"])
def test_non_admins_get_404_on_every_new_route_and_change_nothing(client, login, make, role):
    target = with_two_factor(make.customer(name="Carl", email="carl@example.test"))
    login(make.technician() if role == "technician" else make.customer())
    assert client.get("/admin/users/new").status_code == 404
    posts = [
        ("/admin/users/new", {**NEW, "confirmed": "y"}),
        (f"/admin/users/{target.id}/details", {"name": "Changed", "email": "changed@example.test"}),
        (f"/admin/users/{target.id}/two-factor/disable", {"confirmed_action": "yes"}),
    ]
    for url, data in posts:
        assert client.post(url, data=data).status_code == 404, url
    target = reload(target)
    assert (target.name, target.email, target.two_factor_enabled) == ("Carl", "carl@example.test", True)
    assert user_by_email("nina@example.com") is None
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


# --- a corrected address, and the invitation sent again -------------------------------------------


def _link(mail):
    link = re.search(r"http://\S+/reset-password/\S+", mail.body_text).group(0)
    return link.split("127.0.0.1:5000", 1)[1]


def test_correcting_an_invitee_s_address_kills_the_first_link_and_invites_the_new_one(app, client, admin):
    client.post("/admin/users/new", data={**NEW, "name": "Typo Admin", "email": "typo@exmaple.com"})
    typo = user_by_email("typo@exmaple.com")
    [first] = written(invitations("typo@exmaple.com"))
    response = client.post(
        f"/admin/users/{typo.id}/details", data={"name": "Typo Admin", "email": "typo@example.com"}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: name and e-mail of Typo Admin. The invitation was sent again to typo@example.com." in page

    stranger = app.test_client()  # whoever reads the mistyped mailbox
    old = stranger.get(_link(first))
    assert old.status_code == 400 and "has been replaced by a newer one" in old.get_data(as_text=True)
    refused = stranger.post(
        _link(first), data={"new_password": "a-brand-new-pass", "confirm": "a-brand-new-pass"}
    )
    assert refused.status_code == 400 and reload(typo).password_hash is None

    [second] = written(invitations("typo@example.com"))
    assert "as a technician." in second.body_text and "Ada Admin added you to" in second.body_text
    theirs = app.test_client()
    chosen = theirs.post(
        _link(second), data={"new_password": "a-brand-new-pass", "confirm": "a-brand-new-pass"}
    )
    assert chosen.status_code == 302
    signed_in = theirs.post("/login", data={"email": "typo@example.com", "password": "a-brand-new-pass"})
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]


def test_a_new_address_ends_the_account_s_sessions_and_reset_links(app, client, admin, make, login):
    carl = make.customer(name="Carl", email="carl@example.test")
    their_browser = login(carl, as_client=app.test_client())
    assert their_browser.get("/portal/tickets").status_code == 200
    app.test_client().post("/reset-password", data={"email": "carl@example.test"})
    worker_claims()
    [reset] = written(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "password_reset")).all()
    )
    response = client.post(
        f"/admin/users/{carl.id}/details", data={"name": "Carl", "email": "carl@example.com"}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Links sent to the old address no longer work, and their sessions have ended." in page
    assert "invitation" not in page.split("Saved:", 1)[1].split("</p>", 1)[0]  # they have a password
    kicked = their_browser.get("/portal/tickets")
    assert kicked.status_code == 302 and "/login" in kicked.headers["Location"]
    old = app.test_client().get(_link(reset)).get_data(as_text=True)
    assert "has been replaced by a newer one" in old
    assert invitations("carl@example.com") == []


def test_an_admin_correcting_their_own_address_stays_signed_in(client, admin):
    response = client.post(
        f"/admin/users/{admin.id}/details", data={"name": "Ada Admin", "email": "ada@example.com"}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "your other sessions have ended" in page and reload(admin).email == "ada@example.com"
    assert client.get("/admin/users").status_code == 200


def test_the_page_of_an_invitee_offers_to_send_the_invitation_again(app, client, admin, make, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    nina = make.customer(name="Nina", email="nina@example.com", password_hash=None)
    has_password = make.customer(name="Pat", email="pat@example.com")
    assert "Send the invitation again" not in client.get(f"/admin/users/{has_password.id}").get_data(
        as_text=True
    )
    page = client.get(f"/admin/users/{nina.id}").get_data(as_text=True)
    assert "Send the invitation again" in page and "works for 1 hour" in page and markup_problems(page) == []
    path = f"/admin/users/{nina.id}/invitation"
    assert f'action="{path}"' in page
    assert client.post(path).status_code == 400  # no CSRF token
    assert invitations("nina@example.com") == []
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    sent = client.post(path, data={"csrf_token": token})
    after = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "The invitation was sent again to nina@example.com" in after
    [mail] = written(invitations("nina@example.com"))
    assert "Ada Admin added you to" in mail.body_text and "as a customer." in mail.body_text
    assert app.test_client().get(_link(mail)).status_code == 200

    for _ in range(2):
        client.post(path, data={"csrf_token": token})
    assert len(invitations("nina@example.com")) == 3
    refused = client.post(path, data={"csrf_token": token})
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "nina@example.com already got several invitations in the last hour: try again later." in page
    assert len(invitations("nina@example.com")) == 3
    newest = written(invitations("nina@example.com"))[-1]
    assert app.test_client().get(_link(newest)).status_code == 200  # the refusal killed no link
    assert "has been replaced" not in app.test_client().get(_link(newest)).get_data(as_text=True)


def test_the_invitation_is_not_sent_again_to_someone_with_a_password(client, admin, make):
    pat = make.customer(name="Pat", email="pat@example.com")
    response = client.post(f"/admin/users/{pat.id}/invitation")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pat has already chosen a password" in page and invitations("pat@example.com") == []


def test_a_password_chosen_at_a_mistyped_address_can_be_forgotten_with_the_correction(
    app, client, admin, make, ref
):
    """Someone at the mistyped address already chose a password (and two-step sign-in): correcting
    the address with "The old address was not theirs" forgets both, so that person can no longer
    sign in, and the invitation goes to the new address, whose owner chooses the password."""
    stranger_password = "stranger-pass-123"
    typo = make.technician(ref.categories["IT"], name="Tess Tech", email="tess@exmaple.com")
    typo.password_hash = hash_password(stranger_password)
    with_two_factor(typo)
    page = client.get(f"/admin/users/{typo.id}").get_data(as_text=True)
    assert "The old address was not theirs: they choose a new password at the new one" in page
    assert markup_problems(page) == []

    response = client.post(
        f"/admin/users/{typo.id}/details",
        data={"name": "Tess Tech", "email": "tess@example.com", "new_password": "y"},
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "The password chosen at the old address no longer works: the invitation was sent to "
        "tess@example.com, where they choose a new one."
    ) in page
    tess = reload(typo)
    assert tess.password_hash is None and not tess.two_factor_enabled
    stranger = app.test_client().post(
        "/login", data={"email": "tess@example.com", "password": stranger_password}
    )
    assert stranger.status_code == 200 and "/agent" not in stranger.headers.get("Location", "")
    history = db.session.scalars(select(AuditEvent).where(AuditEvent.target_user_id == tess.id)).all()
    assert any(e.old_value == "their password" for e in history)

    [mail] = written(invitations("tess@example.com"))
    theirs = app.test_client()
    assert (
        theirs.post(
            _link(mail), data={"new_password": "tess-own-pass1", "confirm": "tess-own-pass1"}
        ).status_code
        == 302
    )
    signed_in = theirs.post("/login", data={"email": "tess@example.com", "password": "tess-own-pass1"})
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]


def test_a_new_password_is_asked_for_only_with_a_new_address_and_never_for_oneself(client, admin, make):
    pat = make.customer(name="Pat", email="pat@example.com")
    kept_hash = pat.password_hash
    refused = client.post(
        f"/admin/users/{pat.id}/details",
        data={"name": "Pat", "email": "pat@example.com", "new_password": "y"},
    )
    assert "only with a corrected address" in refused.get_data(as_text=True)
    assert reload(pat).password_hash == kept_hash
    assert "The old address was not theirs" not in client.get(f"/admin/users/{admin.id}").get_data(
        as_text=True
    )
    own = client.post(
        f"/admin/users/{admin.id}/details",
        data={"name": "Ada Admin", "email": "ada@example.com", "new_password": "y"},
    )
    assert "Choose a new password of your own" in own.get_data(as_text=True)
    assert reload(admin).password_hash is not None and reload(admin).email == "admin@example.test"
