"""Passwords: argon2id for new hashes, older werkzeug hashes upgraded at the next sign-in, the most
common passwords refused, and only the newest reset link working."""

import re

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from helpdesk.accounts import passwords
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from tests.mail_support import worker_claims, written

COMMON = "This password is one of the most commonly used passwords; choose another."


@pytest.mark.parametrize("method", ["scrypt:32768:8:1", "pbkdf2:sha256:1000"])
def test_a_legacy_werkzeug_hash_is_replaced_by_argon2id_at_the_next_sign_in(client, make, method):
    user = make.customer(
        email="old@example.com", password_hash=generate_password_hash("an-old-password", method)
    )
    wrong = client.post("/login", data={"email": "old@example.com", "password": "not-it-at-all"})
    assert wrong.status_code == 200
    db.session.refresh(user)
    assert user.password_hash.startswith(method.split(":")[0] + ":")  # a failure changes nothing
    assert (
        client.post("/login", data={"email": "old@example.com", "password": "an-old-password"}).status_code
        == 302
    )
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    client.post("/logout")
    assert (
        client.post("/login", data={"email": "old@example.com", "password": "an-old-password"}).status_code
        == 302
    )


def test_a_hash_made_with_older_argon2_parameters_is_renewed(app, client, make):
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash("an-old-password")
    user = make.customer(email="old@example.com", password_hash=old)
    client.post("/login", data={"email": "old@example.com", "password": "an-old-password"})
    db.session.refresh(user)
    assert user.password_hash != old and not passwords.needs_rehash(user.password_hash)


def test_the_bundled_list_has_the_100000_most_common_passwords():
    common = passwords.common_passwords()
    assert len(common) == 100_000
    assert {"123456", "password", "qwerty", "iloveyou", "1234567890"} <= common
    assert passwords.is_common("PassWord1234") == ("password1234" in common)


def test_a_common_password_is_refused_at_registration_with_a_message(client):
    page = client.post(
        "/register",
        data={"name": "Erin", "email": "erin@example.com", "password": "1234567890", "confirm": "1234567890"},
    ).get_data(as_text=True)
    assert COMMON in page
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_a_common_password_is_refused_when_changing_it(client, login, make):
    from tests.factories import PASSWORD

    login(make.customer())
    page = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "qwertyuiop", "confirm": "qwertyuiop"},
    ).get_data(as_text=True)
    assert COMMON in page


def _reset_links(addr):
    worker_claims()  # the requests stored the address; the worker makes the links
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_addr == addr, OutboxMessage.kind == "password_reset")
        .order_by(OutboxMessage.id)
    ).all()
    return [
        re.search(r"http://[^/\s]+(/reset-password/\S+)", row.body_text).group(1) for row in written(rows)
    ]


def test_a_newer_reset_link_invalidates_the_older_ones(client, make):
    make.customer(email="alice@example.com")
    client.post("/reset-password", data={"email": "alice@example.com"})
    client.post("/reset-password", data={"email": "alice@example.com"})
    older, newer = _reset_links("alice@example.com")
    refused = client.get(older)
    assert refused.status_code == 400 and "replaced by a newer one" in refused.get_data(as_text=True)
    posted = client.post(older, data={"new_password": "a-new-password-1", "confirm": "a-new-password-1"})
    assert posted.status_code == 400
    assert client.get(newer).status_code == 200
    common = client.post(newer, data={"new_password": "1234567890", "confirm": "1234567890"})
    assert COMMON in common.get_data(as_text=True)
    done = client.post(newer, data={"new_password": "a-new-password-2", "confirm": "a-new-password-2"})
    assert done.status_code == 302
    assert (
        client.post("/login", data={"email": "alice@example.com", "password": "a-new-password-2"}).status_code
        == 302
    )


def test_asking_too_often_never_kills_the_last_link_that_was_sent(client, make):
    make.customer(email="alice@example.com")
    for _ in range(5):  # the mail domain sends 3 an hour; the two refused requests change nothing
        client.post("/reset-password", data={"email": "alice@example.com"})
    links = _reset_links("alice@example.com")
    assert len(links) == 3
    assert client.get(links[-1]).status_code == 200
