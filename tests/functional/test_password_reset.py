"""Password reset by e-mail: the link arrives, works once, ends every session, and leaks nothing."""

import re

from sqlalchemy import select

from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from tests.mail_support import written


def reset_link(addr):
    row = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == addr, OutboxMessage.kind == "password_reset")
    ).first()
    return re.search(r"http://\S+/reset-password/\S+", written([row])[0].body_text).group(0)


def test_reset_flow_sets_password_and_ends_sessions(app, client, login, make):
    alice = make.customer(email="alice@example.test")
    other_device = app.test_client()
    login(alice, as_client=other_device)
    assert other_device.get("/portal/tickets").status_code == 200
    response = client.post("/reset-password", data={"email": "ALICE@example.test"})
    assert response.status_code == 302
    path = reset_link("alice@example.test").split("127.0.0.1:5000", 1)[1]
    assert client.get(path).status_code == 200
    response = client.post(path, data={"new_password": "a-brand-new-pass", "confirm": "a-brand-new-pass"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert other_device.get("/portal/tickets").status_code == 302  # logged out everywhere
    login_page = client.post("/login", data={"email": "alice@example.test", "password": "a-brand-new-pass"})
    assert login_page.status_code == 302
    again = app.test_client().post(
        path, data={"new_password": "another-pass-123", "confirm": "another-pass-123"}
    )
    assert again.status_code == 400 and b"was already used" in again.data


def test_unknown_address_gets_the_same_answer_and_no_mail(client, make):
    response = client.post("/reset-password", data={"email": "nobody@example.test"}, follow_redirects=True)
    assert b"If an account uses that address" in response.data
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_tampered_token_is_refused(client, make):
    make.customer(email="alice@example.test")
    client.post("/reset-password", data={"email": "alice@example.test"})
    path = reset_link("alice@example.test").split("127.0.0.1:5000", 1)[1]
    token = path.rsplit("/", 1)[1]
    payload, stamp, signature = token.rsplit(".", 2)
    # A character in the middle of the signature changed: the last one carries unused bits, and a
    # change there alone can leave the signature valid.
    middle = len(signature) // 2
    tampered = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    assert client.get(f"/reset-password/{payload}.{stamp}.{tampered}").status_code == 400


def test_reset_mails_are_limited_per_hour(client, make):
    make.customer(email="alice@example.test")
    for _ in range(5):
        client.post("/reset-password", data={"email": "alice@example.test"})
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 3
    assert db.session.scalar(select(User)).email == "alice@example.test"


def test_one_client_asking_for_many_addresses_is_limited_alike_for_known_and_unknown(
    app, client, make, monkeypatch
):
    # Each address gets 3 mails an hour; one client naming many addresses is stopped after
    # REGISTER_PER_HOUR requests, with the same answer whether the addresses have accounts.
    monkeypatch.setitem(app.config, "REGISTER_PER_HOUR", 3)
    for n in range(4):
        make.customer(email=f"user{n}@example.test")
    answers = [client.post("/reset-password", data={"email": f"user{n}@example.test"}) for n in range(3)]
    assert [a.status_code for a in answers] == [302, 302, 302]
    refused = client.post("/reset-password", data={"email": "user3@example.test"})
    unknown = client.post("/reset-password", data={"email": "nobody@example.test"})
    for answer in (refused, unknown):
        assert answer.status_code == 429
        assert "Too many reset requests from your network. Try again in an hour." in answer.get_data(
            as_text=True
        )
        assert 'value="' in answer.get_data(as_text=True)  # the form again, the address kept
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 3
    elsewhere = client.post(
        "/reset-password", data={"email": "user3@example.test"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert elsewhere.status_code == 302  # another network is not held up
