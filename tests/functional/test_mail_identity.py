"""Whom a mail speaks for: each recipient's own reply address, the receiving MTA's
Authentication-Results, and the mail held for an admin instead of posted (issue 18, item 1)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from helpdesk.accounts.models import User
from helpdesk.config import check_production
from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail.models import OutboxMessage
from helpdesk.mail.tokens import legacy_reply_address, parse_reply_address, reply_address, thread_root_id
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import subscribers
from helpdesk.tickets.models import Message, Ticket
from tests.mail_support import TRUSTED_MTA, load_eml, renamed, with_auth_results, with_headers, written

FAIL = "dmarc=fail (p=reject) header.from=example.test"


@pytest.fixture
def trusted_mta(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", TRUSTED_MTA)


@pytest.fixture
def require_auth(app, monkeypatch, trusted_mta):
    monkeypatch.setitem(app.config, "MAIL_REQUIRE_AUTH", True)


@pytest.fixture
def desk(make, ref):
    """Alice's IT ticket, followed by Sam; Bob follows it too; Ivan works IT."""
    people = SimpleNamespace(
        alice=make.customer(email="alice@example.test", name="Alice Archer"),
        sam=make.customer(email="sam@example.test", name="Sam Sub"),
        bob=make.customer(email="bob@example.test", name="Bob Other"),
        ivan=make.technician(ref.categories["IT"], email="ivan@example.test", name="Ivan IT"),
    )
    ticket, _ = submission.submit_ticket(
        people.alice,
        subject="Printer on fire",
        body="Smoke everywhere.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    make.subscribe(ticket, people.sam)
    make.subscribe(ticket, people.bob)
    db.session.commit()
    people.ticket = ticket
    return people


def reply(ticket, sender, to=None, n=1):
    """reply_plain.eml from `sender` through `to` (by default the reply address issued to them)."""
    raw = load_eml(
        "reply_plain.eml",
        ID=ticket.id,
        TOKEN=to or reply_address(ticket.id, sender.id),
        ROOT=thread_root_id(ticket.id),
    ).replace(b"Alice Archer <alice@example.test>", f"{sender.name} <{sender.email}>".encode())
    return renamed(raw, n)


def messages(ticket):
    db.session.expire_all()
    return db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
    ).all()


def outbox_count():
    return db.session.scalar(select(func.count(OutboxMessage.id)))


def test_each_recipient_gets_an_own_reply_address_and_a_reply_through_it_is_theirs(desk):
    tickets.add_message(desk.ticket, desk.ivan, "Try turning it off and on again.")
    db.session.commit()
    rows = written(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "public_reply")).all()
    )
    addresses = {row.to_addr: row.headers["Reply-To"] for row in rows}
    assert sorted(addresses) == ["alice@example.test", "bob@example.test", "sam@example.test"]
    assert len(set(addresses.values())) == 3
    for person in (desk.alice, desk.sam):
        token = parse_reply_address(addresses[person.email])
        assert (token.ticket_id, token.user_id, token.valid) == (desk.ticket.id, person.id, True)

    sams = mail_inbound.ingest(reply(desk.ticket, desk.sam, addresses["sam@example.test"], n=1))
    alices = mail_inbound.ingest(reply(desk.ticket, desk.alice, addresses["alice@example.test"], n=2))
    assert (sams.outcome, alices.outcome) == ("reply", "reply")
    assert [m.author_id for m in messages(desk.ticket)][-2:] == [desk.sam.id, desk.alice.id]


def test_an_expired_reply_address_is_held_not_posted(app, desk, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_REPLY_TOKEN_DAYS", 90)
    old = reply_address(desk.ticket.id, desk.alice.id, issued=utcnow() - timedelta(days=91))
    entry = mail_inbound.ingest(reply(desk.ticket, desk.alice, old))
    assert entry.outcome == "unverified" and "expired" in entry.reason and entry.raw
    assert entry.ticket_id == desk.ticket.id and messages(desk.ticket) == []
    recent = reply_address(desk.ticket.id, desk.alice.id, issued=utcnow() - timedelta(days=89))
    assert mail_inbound.ingest(reply(desk.ticket, desk.alice, recent, n=2)).outcome == "reply"


def test_a_removed_subscribers_reply_address_stops_working(desk):
    sams = reply_address(desk.ticket.id, desk.sam.id)
    subscribers.remove_subscriber(desk.ticket, desk.ivan, desk.sam.id)
    db.session.commit()
    entry = mail_inbound.ingest(reply(desk.ticket, desk.sam, sams))
    assert entry.outcome == "rejected" and "sam@example.test is not the requester" in entry.reason
    assert messages(desk.ticket) == []


@pytest.mark.parametrize("who", ["bob", "mallory"])
def test_alices_reply_address_used_from_another_address_is_not_alices_reply(make, desk, who):
    sender = desk.bob if who == "bob" else make.customer(email="mallory@elsewhere.test", name="Alice Archer")
    entry = mail_inbound.ingest(reply(desk.ticket, sender, reply_address(desk.ticket.id, desk.alice.id)))
    assert entry.outcome == "rejected" and "issued to another recipient" in entry.reason
    assert messages(desk.ticket) == []


def test_dmarc_fail_is_held_even_through_the_senders_own_reply_address(desk, trusted_mta):
    before = outbox_count()
    entry = mail_inbound.ingest(with_auth_results(reply(desk.ticket, desk.alice), FAIL))
    assert entry.outcome == "unverified" and entry.reason.startswith("DMARC failed")
    assert "dmarc=fail" in entry.auth_result and entry.raw
    assert messages(desk.ticket) == [] and outbox_count() == before


def test_mail_the_mta_did_not_authenticate_is_held_when_auth_is_required(desk, ref, require_auth):
    entry = mail_inbound.ingest(reply(desk.ticket, desk.alice))
    assert entry.outcome == "unverified" and "MAIL_REQUIRE_AUTH" in entry.reason
    assert f"no Authentication-Results from {TRUSTED_MTA}" in entry.reason
    assert messages(desk.ticket) == []

    new = mail_inbound.ingest(load_eml("new_ticket_plain.eml"))
    assert new.outcome == "unverified"
    assert db.session.scalar(select(User).where(User.email == "nora@customer.test")) is None
    assert db.session.scalars(select(Ticket).where(Ticket.id != desk.ticket.id)).all() == []

    verified = mail_inbound.ingest(with_auth_results(renamed(load_eml("new_ticket_plain.eml"), 2)))
    assert verified.outcome == "new_ticket"
    assert db.session.get(Ticket, verified.ticket_id).requester.email == "nora@customer.test"


@pytest.mark.parametrize(
    "fields",
    [
        ["Authentication-Results: mx.evil.test; dmarc=pass header.from=example.test"],
        [f"Authentication-Results: {TRUSTED_MTA}.evil.test; dmarc=pass"],
        [
            f"Authentication-Results: {TRUSTED_MTA}; {FAIL}",
            "Authentication-Results: mx.evil.test; dmarc=pass",
        ],
    ],
)
def test_fields_naming_another_server_are_ignored(desk, require_auth, fields):
    entry = mail_inbound.ingest(with_headers(reply(desk.ticket, desk.alice), *fields))
    assert entry.outcome == "unverified" and messages(desk.ticket) == []


def test_mail_from_an_agents_address_needs_a_verified_sender_even_without_require_auth(
    app, desk, trusted_mta
):
    assert not app.config["MAIL_REQUIRE_AUTH"]  # the test (and development) setting
    before = outbox_count()
    entry = mail_inbound.ingest(reply(desk.ticket, desk.ivan))  # Ivan's own, valid reply address
    assert entry.outcome == "unverified" and "agent's address" in entry.reason
    ticket = db.session.get(Ticket, desk.ticket.id)
    assert messages(ticket) == [] and ticket.first_response_at is None and outbox_count() == before

    opening = mail_inbound.ingest(
        load_eml("new_ticket_plain.eml").replace(b"Nora Newton <nora@customer.test>", b"ivan@example.test")
    )
    assert opening.outcome == "unverified" and "agent's address" in opening.reason

    verified = mail_inbound.ingest(with_auth_results(reply(desk.ticket, desk.ivan, n=2)))
    assert verified.outcome == "reply" and messages(desk.ticket)[-1].author_id == desk.ivan.id
    assert db.session.get(Ticket, desk.ticket.id).first_response_at is not None


def test_an_old_style_reply_address_is_held_unless_the_sender_is_verified(desk, trusted_mta):
    shared = legacy_reply_address(desk.ticket.id)
    entry = mail_inbound.ingest(reply(desk.ticket, desk.alice, shared))
    assert entry.outcome == "unverified" and "old-style reply address" in entry.reason
    verified = mail_inbound.ingest(with_auth_results(reply(desk.ticket, desk.alice, shared, n=2)))
    assert verified.outcome == "reply" and messages(desk.ticket)[-1].author_id == desk.alice.id


def test_the_shared_thread_id_alone_proves_nothing(desk):
    raw = reply(desk.ticket, desk.alice, "support@helpdesk.example")  # In-Reply-To: the thread root
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "unverified" and "References only" in entry.reason


@pytest.mark.parametrize(
    ("to", "outcome", "reason"),
    [
        ("support+t{id}.zz.zz.zz@helpdesk.example", "rejected", "forged reply address"),
        ("support+t{id}.1.2.3.4.5@helpdesk.example", "rejected", "forged reply address"),
        ("support+t{id}.@helpdesk.example", None, None),  # not one of our forms: a plain address
        ("support+t99999999.{alice}@helpdesk.example", "rejected", "forged reply address"),
        ("support+t{id}." + "f" * 300 + "@helpdesk.example", None, None),
    ],
)
def test_malformed_reply_addresses_get_a_reason_never_an_error(desk, to, outcome, reason):
    alice_token = reply_address(desk.ticket.id, desk.alice.id).split(".", 1)[1].split("@")[0]
    entry = mail_inbound.ingest(
        reply(desk.ticket, desk.alice, to.format(id=desk.ticket.id, alice=alice_token))
    )
    if outcome is None:  # then only References name the ticket: held, as they prove nothing
        assert entry.outcome == "unverified"
    else:
        assert entry.outcome == outcome and reason in entry.reason
    assert messages(desk.ticket) == []


def test_a_reply_address_for_a_ticket_that_does_not_exist_is_refused(desk):
    raw = reply(desk.ticket, desk.alice, reply_address(99_999, desk.alice.id)).replace(
        thread_root_id(desk.ticket.id).encode(), b"<nothing@elsewhere.test>"
    )
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "rejected" and "does not exist" in entry.reason


def test_garbage_authentication_results_and_non_ascii_headers_are_read(ref, trusted_mta):
    garbage = with_headers(
        load_eml("new_ticket_plain.eml"),
        f"Authentication-Results: {TRUSTED_MTA}; dmarc=(((;;; =pass",
        "Authentication-Results: ;;;",
        'Authentication-Results: "',
    )
    assert mail_inbound.ingest(garbage).outcome == "new_ticket"  # unverified, allowed without REQUIRE_AUTH
    entry = mail_inbound.ingest(load_eml("non_ascii_headers.eml"))
    assert entry.outcome == "new_ticket" and "dkim=pass" in entry.auth_result
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert ticket.subject == "Drücker kaputt — bitte helfen ✓" and ticket.requester.name == "Zoë Ümlaut"
    assert [s.user.email for s in ticket.subscriptions] == ["joerg@customer.test"]  # DKIM-verified sender


@pytest.mark.parametrize(
    ("env", "given", "expected"),
    [("production", None, True), ("development", None, False), ("production", False, False)],
)
def test_require_auth_is_on_in_production_unless_set(env, given, expected):
    config = {
        "HELPDESK_ENV": env,
        "SECRET_KEY": "x" * 64,
        "DATABASE_URL": "postgresql://db.internal/helpdesk",
        "PUBLIC_URL": "https://desk.example",
        "MAIL_REQUIRE_AUTH": given,
    }
    check_production(config)
    assert config["MAIL_REQUIRE_AUTH"] is expected
