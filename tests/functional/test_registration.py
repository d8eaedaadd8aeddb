"""Self-registration: the address is confirmed by a signed, expiring link before the account can sign
in or get ticket mail; a taken address gets the same answer and its owner a notice; registrations are
throttled per client address."""

import re
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from helpdesk.accounts.models import User
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets import lifecycle as tickets
from tests.factories import PASSWORD
from tests.mail_support import posted_work, worker_claims, written

FORM = {
    "name": "Erin",
    "email": "erin@example.com",
    "password": "a-long-password",
    "confirm": "a-long-password",
}


def register(client, **overrides):
    return client.post("/register", data={**FORM, **overrides})


def mails(kind, to=None):
    query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    if to:
        query = query.where(OutboxMessage.to_addr == to)
    return written(db.session.scalars(query).all())


def confirmation_path(to="erin@example.com"):
    row = mails("address_confirmation", to)[-1]
    return re.search(r"http://[^/\s]+(/register/confirm/\S+)", row.body_text).group(1)


def log_in(client, email="erin@example.com", password="a-long-password"):
    return client.post("/login", data={"email": email, "password": password})


def user(email="erin@example.com"):
    return db.session.scalar(
        select(User).where(User.email == email).execution_options(populate_existing=True)
    )


def test_an_unconfirmed_account_cannot_sign_in_and_is_offered_a_new_link(client):
    register(client)
    response = log_in(client)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Confirm your e-mail address first" in text
    assert "/register/resend" in text
    assert client.get("/portal/tickets").status_code == 302
    # With a wrong password it looks like any failure: nothing says the account exists.
    wrong = log_in(client, password="not-the-password").get_data(as_text=True)
    assert "E-mail or password is not correct." in wrong and "Confirm your" not in wrong


def test_the_confirmation_link_confirms_on_a_button_then_sign_in_works(client):
    register(client)
    path = confirmation_path()
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my address" in page.get_data(as_text=True)
    assert user().email_confirmed_at is None  # opening the link (a mail scanner) confirms nothing
    confirmed = client.post(path)
    assert confirmed.status_code == 302 and confirmed.location.endswith("/login")
    assert user().email_confirmed_at is not None
    assert log_in(client).status_code == 302
    assert client.get("/portal/tickets").status_code == 200


def test_an_expired_link_is_refused_with_a_message_and_a_new_one_can_be_asked_for(app, client):
    register(client)
    path = confirmation_path()
    hours = app.config["CONFIRM_MAX_AGE_HOURS"]
    with time_machine.travel(utcnow() + timedelta(hours=hours, minutes=1), tick=False):
        response = client.post(path)
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "This confirmation link has expired" in text
    assert user().email_confirmed_at is None
    again = client.post("/register/resend", data={"email": "erin@example.com"})
    assert again.status_code == 200 and "Check your mail" in again.get_data(as_text=True)
    worker_claims()  # the request stored the address; the worker makes the link
    assert len(mails("address_confirmation")) == 2
    assert client.post(confirmation_path()).status_code == 302 and user().email_confirmed_at is not None


def test_a_tampered_link_is_refused(client):
    register(client)
    assert client.post(confirmation_path()[:-3] + "abc").status_code == 400
    assert user().email_confirmed_at is None


def test_a_taken_address_gets_the_same_page_and_its_owner_a_notice(client, make):
    owner = make.customer(email="erin@example.com", name="Erin Owner")
    taken = register(client, name="Mallory").get_data(as_text=True)
    fresh = register(client, email="new@example.com").get_data(as_text=True)
    assert "Check your mail" in taken and "Check your mail" in fresh
    assert taken.replace("erin@example.com", "X") == fresh.replace("new@example.com", "X")
    (notice,) = mails("existing_account")
    assert notice.to_addr == "erin@example.com" and "Someone tried to register" in notice.subject
    assert "/login" in notice.body_text and "/reset-password" in notice.body_text
    assert mails("address_confirmation", "erin@example.com") == []
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "erin@example.com")) == 1
    assert user().name == "Erin Owner" and user().password_hash == owner.password_hash


def test_registrations_are_throttled_per_client_address(app, client):
    limit = app.config["REGISTER_PER_HOUR"]
    for n in range(limit):
        assert register(client, email=f"user{n}@example.com").status_code == 200
    refused = register(client, email="one-more@example.com")
    assert refused.status_code == 429 and "Too many registrations" in refused.get_data(as_text=True)
    assert user("one-more@example.com") is None
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert register(elsewhere, email="one-more@example.com").status_code == 200


def test_an_unconfirmed_account_gets_no_ticket_mail_until_it_confirms(client, make, ref):
    agent = make.technician(ref.categories["IT"])
    pending = make.customer(email="pending@example.com", email_confirmed_at=None)
    ticket = make.ticket(requester=pending, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    tickets.add_message(ticket, agent, "We are on it.")
    db.session.commit()
    assert mails("public_reply") == []
    pending.email_confirmed_at = utcnow()
    tickets.add_message(ticket, agent, "Fixed.")
    db.session.commit()
    assert [row.to_addr for row in mails("public_reply")] == ["pending@example.com"]


def test_a_password_reset_confirms_the_address(client):
    register(client)
    client.post("/reset-password", data={"email": "erin@example.com"})
    worker_claims()
    row = mails("password_reset", "erin@example.com")[-1]
    path = re.search(r"http://[^/\s]+(/reset-password/\S+)", row.body_text).group(1)
    client.post(path, data={"new_password": "a-newer-password", "confirm": "a-newer-password"})
    assert user().email_confirmed_at is not None
    assert log_in(client, password="a-newer-password").status_code == 302


def test_accounts_made_by_admins_and_invitations_are_confirmed(make):
    from helpdesk.accounts import auth, users

    admin = make.admin()
    made = users.create_user("tech@example.com", "Tech", PASSWORD + "!", "technician", actor=admin)
    invited = auth.ensure_user("invitee@example.com")
    assert made.email_confirmed_at is not None and invited.email_confirmed_at is not None


def test_a_plan_no_longer_offered_is_named_and_tied_to_the_choice(client, ref):
    page = register(client, plan="999999").get_data(as_text=True)
    assert user() is None
    assert "choose one of the listed options." in page and "Not a valid" not in page
    # the group of plans points at its message: a screen reader on a plan hears why
    assert 'aria-describedby="plan-errors"' in page and '<ul class="errors" id="plan-errors">' in page


def test_asking_for_a_new_link_does_the_same_work_whether_or_not_an_account_waits(client):
    # The answer was always "Check your mail", but for an account awaiting confirmation the request
    # counted the address's notices and wrote the mail: 1.5x the time of an unknown address's.
    register(client)
    worker_claims()  # the registration's own confirmation mail, out of the way
    resend = "/register/resend"
    client.post(resend, data={"email": "first@example.com"})  # the client's counts, taken once
    waiting_sql, waiting_rows = posted_work(client, resend, {"email": "Erin@example.com"}, status=200)
    unknown_sql, unknown_rows = posted_work(client, resend, {"email": "nobody@example.com"}, status=200)
    assert waiting_sql == unknown_sql
    assert [
        [(r.kind, r.to_addr, r.user_id, r.template) for r in rows] for rows in (waiting_rows, unknown_rows)
    ] == [
        [("confirmation_request", "erin@example.com", None, None)],
        [("confirmation_request", "nobody@example.com", None, None)],
    ]
    worker_claims()
    assert [(m.to_addr, m.status) for m in mails("address_confirmation")][-1] == (
        "erin@example.com",
        "queued",
    )
    assert len(mails("address_confirmation")) == 2
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr.like("%nobody%"))).all() == []
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr.like("%first%"))).all() == []
    assert client.post(confirmation_path()).status_code == 302  # the newest link works


def test_the_link_the_worker_sends_again_is_the_mail_registration_sent(client):
    with time_machine.travel(utcnow(), tick=False):  # the same second: the same signed link
        register(client)
        client.post("/register/resend", data={"email": "erin@example.com"})
        worker_claims()
    first, again = mails("address_confirmation")
    assert again.user_id == first.user_id and again.message_id != first.message_id
    fields = ("to_addr", "to_name", "subject", "headers", "body_text", "body_html")
    assert [getattr(again, f) for f in fields] == [getattr(first, f) for f in fields]


def test_with_the_development_mailbox_a_new_link_is_written_at_once(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "devbox")  # `make run`: no worker, nothing sent
    register(client)
    client.post("/register/resend", data={"email": "erin@example.com"})
    client.post("/register/resend", data={"email": "nobody@example.com"})
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.kind, r.to_addr, r.status) for r in rows] == [
        ("address_confirmation", "erin@example.com", "devbox")
    ] * 2
    assert "/register/confirm/" in rows[1].body_text
