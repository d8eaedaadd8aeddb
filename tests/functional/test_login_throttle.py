"""Failed sign-ins are counted atomically per account and address, per account and per address: an
attacker is stopped without locking the owner out from elsewhere."""

import threading

import pytest

from helpdesk.accounts import throttle
from helpdesk.accounts.models import Throttle
from helpdesk.extensions import db
from tests.factories import PASSWORD

ATTACKER, OFFICE = "198.51.100.7", "203.0.113.20"


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client, password="wrong-password", email="victim@example.com"):
    return client.post("/login", data={"email": email, "password": password})


def test_the_pair_limit_blocks_that_address_and_the_right_password_from_elsewhere_works(app, make):
    make.customer(email="victim@example.com")
    attacker, office = client_at(app, ATTACKER), client_at(app, OFFICE)
    limit = app.config["LOGIN_MAX_FAILURES"]
    statuses = [attempt(attacker).status_code for _ in range(limit + 2)]
    assert statuses == [200] * limit + [429, 429]
    blocked = attempt(attacker, PASSWORD)
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.get_data(as_text=True)
    assert attempt(office, PASSWORD).status_code == 302  # the owner, from the office
    # The refused attempts counted nothing: the pair stays at the limit.
    assert throttle.count(f"pair:victim@example.com|{ATTACKER}", throttle._window()) == limit


def test_past_the_account_limit_only_addresses_without_failures_may_try(app, make):
    make.customer(email="victim@example.com")
    per_pair, per_account = app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_MAX_FAILURES_ACCOUNT"]
    for n in range(per_account // per_pair):  # the account limit reached from several addresses
        bot = client_at(app, f"198.51.100.{n + 1}")
        assert [attempt(bot).status_code for _ in range(per_pair)] == [200] * per_pair
    once = client_at(app, "198.51.100.200")
    assert attempt(once).status_code == 200  # a fresh address gets one try...
    assert attempt(once, PASSWORD).status_code == 429  # ...and no second, even with the password
    assert attempt(client_at(app, OFFICE), PASSWORD).status_code == 302  # the owner signs in


def test_the_address_limit_is_higher_and_covers_every_account(app, make):
    make.customer(email="victim@example.com")
    attacker = client_at(app, ATTACKER)
    for n in range(app.config["LOGIN_MAX_FAILURES_ADDRESS"]):
        assert attempt(attacker, email=f"guess{n}@example.com").status_code == 200
    assert attempt(attacker, PASSWORD).status_code == 429
    assert attempt(client_at(app, OFFICE), PASSWORD).status_code == 302


def test_a_successful_sign_in_gives_its_counts_back(app, make):
    make.customer(email="victim@example.com")
    office = client_at(app, OFFICE)
    for _ in range(3):
        attempt(office)
    assert attempt(office, PASSWORD).status_code == 302
    window = throttle._window()
    assert throttle.count(f"pair:victim@example.com|{OFFICE}", window) == 0
    assert throttle.count("acct:victim@example.com", window) == 3  # the failures, not the success
    assert throttle.count(f"addr:{OFFICE}", window) == 3


def test_an_address_that_grows_past_the_column_when_lowered_is_refused_like_any_other(app, make):
    """ "İ".lower() is two characters: 320 of them (what the form lets through) made throttle keys
    longer than their column, and PostgreSQL answered the sign-in with a 500. Such an address is
    no account's; it gets the usual answer and its attempts still count against the address."""
    long_address = "İ" * 320
    attacker = client_at(app, ATTACKER)
    limit = app.config["LOGIN_MAX_FAILURES"]
    answers = [attempt(attacker, email=long_address) for _ in range(limit + 1)]
    assert [answer.status_code for answer in answers] == [200] * limit + [429]
    assert "E-mail or password is not correct." in answers[0].get_data(as_text=True)
    assert throttle.count(f"addr:{ATTACKER}", throttle._window()) == limit


def test_resetting_the_password_as_the_refusal_advises_unblocks_the_owners_address(app, make):
    """The refusal says "Try again in 15 minutes, or reset your password.", but the reset cleared
    the account's counter and not this address's: the new password was refused too."""
    from .test_password_reset import reset_link

    make.customer(email="victim@example.com")
    home, attacker = client_at(app, OFFICE), client_at(app, ATTACKER)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        attempt(home)
        attempt(attacker)
    assert "or reset your password" in attempt(home).get_data(as_text=True)
    home.post("/reset-password", data={"email": "victim@example.com"})
    path = reset_link("victim@example.com").split("127.0.0.1:5000", 1)[1]
    new = "a-brand-new-pass"
    assert home.post(path, data={"new_password": new, "confirm": new}).status_code == 302
    assert attempt(home, new).status_code == 302
    assert attempt(attacker, new).status_code == 429  # another address stays blocked


def test_a_new_window_starts_counting_afresh(app, make):
    from datetime import timedelta

    import time_machine

    from helpdesk.dbtypes import utcnow

    make.customer(email="victim@example.com")
    attacker = client_at(app, ATTACKER)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        attempt(attacker)
    later = utcnow() + timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"], seconds=1)
    with time_machine.travel(later, tick=False):
        assert attempt(attacker, PASSWORD).status_code == 302


@pytest.mark.postgres_only
@pytest.mark.committing
def test_concurrent_failures_let_exactly_the_limit_through(app, make):
    """Twelve wrong passwords at once from one address: exactly LOGIN_MAX_FAILURES are checked,
    the rest refused (the old SELECT COUNT let eight of five through with four workers)."""
    make.customer(email="victim@example.com")
    db.session.commit()
    attempts, limit = 12, app.config["LOGIN_MAX_FAILURES"]
    barrier, statuses, errors = threading.Barrier(attempts), [], []

    def one():
        client = client_at(app, ATTACKER)
        try:
            barrier.wait()
            statuses.append(attempt(client).status_code)
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(statuses) == [200] * limit + [429] * (attempts - limit)
    row = db.session.get(Throttle, f"pair:victim@example.com|{ATTACKER}", populate_existing=True)
    assert row.count == limit
    assert attempt(client_at(app, OFFICE), PASSWORD).status_code == 302


def test_counters_of_windows_long_over_are_deleted_when_a_new_window_starts(app):
    from datetime import timedelta

    from helpdesk.dbtypes import utcnow

    db.session.add(
        Throttle(key="pair:old@example.com|192.0.2.1", window_start=utcnow() - timedelta(days=2), count=4)
    )
    db.session.add(
        Throttle(key="acct:recent@example.com", window_start=utcnow() - timedelta(hours=2), count=2)
    )
    db.session.flush()
    assert throttle.take("addr:192.0.2.99", timedelta(minutes=15)) == 1
    keys = set(db.session.scalars(db.select(Throttle.key)))
    assert keys == {"acct:recent@example.com", "addr:192.0.2.99"}
