"""Mail that must not multiply (issue 18, item 2): Cc'd people on a new-ticket mail (capped, no
accounts for an unverified sender), machine mail (bounces, lists, auto-replies) logged and never
answered, and at most MAIL_AUTO_PER_HOUR automatic mails per address and hour."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from helpdesk.accounts.models import User
from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import delivery as mail_delivery
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail import notify
from helpdesk.mail.compose import answering_inbound_mail, build_email
from helpdesk.mail.models import InboundMail, OutboxMessage
from helpdesk.tickets.models import Subscription, Ticket
from tests.mail_support import TRUSTED_MTA, load_eml, renamed, with_auth_results, with_headers, written


@pytest.fixture
def trusted_mta(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", TRUSTED_MTA)


def outbox(**filters):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return written(db.session.scalars(query).all())


def users():
    return sorted(db.session.scalars(select(User.email)))


def with_cc(raw, addresses):
    return raw.replace(
        b"To: support@helpdesk.example",
        f"To: support@helpdesk.example\r\nCc: {', '.join(addresses)}".encode(),
        1,
    )


# --- Cc --------------------------------------------------------------------------------------------


def test_at_most_mail_cc_max_cc_addresses_follow_a_new_ticket(ref, trusted_mta):
    cc = [f"person{n}@customer.test" for n in range(31)]
    entry = mail_inbound.ingest(with_auth_results(with_cc(load_eml("new_ticket_plain.eml"), cc)))
    assert (
        entry.outcome == "new_ticket"
        and "26 more Cc addresses not subscribed (MAIL_CC_MAX is 5)" in entry.reason
    )
    followers = db.session.scalars(
        select(Subscription).where(Subscription.ticket_id == entry.ticket_id)
    ).all()
    assert sorted(s.user.email for s in followers) == cc[:5]
    assert len(outbox(kind="subscriber_added")) == 5
    assert users() == sorted(["nora@customer.test", *cc[:5]])


def test_a_huge_cc_list_is_read_and_capped_not_failed(ref, trusted_mta):
    cc = [f"p{n}@customer.test" for n in range(3000)] + ["not an address", "x" * 400 + "@customer.test"]
    entry = mail_inbound.ingest(with_auth_results(with_cc(load_eml("new_ticket_plain.eml"), cc)))
    assert entry.outcome == "new_ticket" and "more Cc addresses not subscribed" in entry.reason
    assert "the Cc header was too long: only its first addresses were read" in entry.reason
    assert db.session.scalar(select(func.count(User.id))) == 6


def test_an_unverified_sender_makes_no_accounts_for_cc(make, ref):
    make.customer(email="known@customer.test", name="Known")
    raw = with_cc(load_eml("new_ticket_plain.eml"), ["known@customer.test", "stranger@customer.test"])
    entry = mail_inbound.ingest(raw)  # no Authentication-Results: not verified (allowed in tests)
    assert entry.outcome == "new_ticket"
    assert "no account made for Cc stranger@customer.test: the sender is not verified" in entry.reason
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert [s.user.email for s in ticket.subscriptions] == ["known@customer.test"]
    assert "stranger@customer.test" not in users()
    assert [r.to_addr for r in outbox(kind="subscriber_added")] == ["known@customer.test"]


# --- Machine mail --------------------------------------------------------------------------------


PLAIN = "new_ticket_plain.eml"


@pytest.mark.parametrize(
    ("fixture", "headers", "reason"),
    [
        ("bounce_dsn.eml", (), "bounce (null return path"),
        (PLAIN, ("Return-Path: <>",), "bounce (null return path"),
        (PLAIN, ("Return-Path: < >",), "bounce (null return path"),
        (PLAIN, (), None),  # the control: the same mail without markers opens a ticket
        (
            PLAIN,
            ("Content-Type: multipart/report; report-type=delivery-status; boundary=X",),
            "multipart/report",
        ),
        ("list_id_only.eml", (), "mailing list (List-Id)"),
        (PLAIN, ("List-Unsubscribe: <mailto:leave@lists.vendor.test>",), "mailing list (List-Unsubscribe)"),
        (PLAIN, ("Precedence: list",), "Precedence: list"),
        (PLAIN, ("Precedence: junk",), "Precedence: junk"),
        (PLAIN, ("Precedence: bulk",), "Precedence: bulk"),
        (PLAIN, ("Auto-Submitted: auto-replied",), "auto-reply (Auto-Submitted: auto-replied)"),
        (PLAIN, ("Auto-Submitted: auto-generated; owner-email=x@y.test",), "Auto-Submitted: auto-generated"),
        (PLAIN, ("X-Autoreply: yes",), "auto-reply (X-Autoreply)"),
        (PLAIN, ("X-Autorespond: Out of office",), "auto-reply (X-Autorespond)"),
    ],
)
def test_machine_mail_is_logged_with_its_reason_and_never_answered(
    client, login, make, ref, fixture, headers, reason
):
    raw = load_eml(fixture)
    if headers and headers[0].startswith("Content-Type"):
        raw = raw.replace(b"Content-Type: text/plain; charset=utf-8", headers[0].encode())
    else:
        raw = with_headers(raw, *headers)
    entry = mail_inbound.ingest(raw)
    if reason is None:
        assert entry.outcome == "new_ticket"
        return
    assert entry.outcome == "ignored" and reason in entry.reason and entry.raw == raw
    assert "not answered" in entry.reason
    assert db.session.scalars(select(Ticket)).all() == [] and outbox() == [] and users() == []
    login(make.admin())
    assert reason in client.get("/admin/mail/inbound").get_data(as_text=True)
    assert reason in client.get(f"/admin/mail/inbound/{entry.id}").get_data(as_text=True)


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.customer.test", "postmaster@customer.test"])
def test_mail_from_mailer_daemon_or_postmaster_is_a_bounce(ref, sender):
    raw = load_eml(PLAIN).replace(b"Nora Newton <nora@customer.test>", sender.encode())
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "ignored" and entry.reason.startswith("bounce (sent by")
    assert db.session.scalars(select(Ticket)).all() == []


def test_auto_submitted_no_is_a_person(ref):
    entry = mail_inbound.ingest(with_headers(load_eml(PLAIN), "Auto-Submitted: no"))
    assert entry.outcome == "new_ticket"


# --- The hourly limit on automatic mail ----------------------------------------------------------


@pytest.fixture
def mailed_ticket(ref):
    """A ticket opened by mail: its acknowledgement is the first automatic mail to Nora."""
    entry = mail_inbound.ingest(load_eml(PLAIN))
    return db.session.get(Ticket, entry.ticket_id)


def test_acknowledgements_of_mail_are_automatic_and_say_so(mailed_ticket, app, smtp_server):
    [ack] = outbox(kind="ticket_created", to_addr="nora@customer.test")
    assert ack.automatic and ack.headers["Auto-Submitted"] == "auto-replied"
    assert build_email(ack)["Auto-Submitted"] == "auto-replied"
    mail_delivery.process_due()
    [delivered] = [r for r in smtp_server.received if r["rcpt_tos"] == ["nora@customer.test"]]
    assert delivered["message"]["Auto-Submitted"] == "auto-replied"


def test_every_other_mail_is_marked_auto_generated(make, ref):
    alice = make.customer(email="alice@example.test")
    submission.submit_ticket(
        alice,
        subject="Web",
        body="x",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    [ack] = outbox(kind="ticket_created", to_addr="alice@example.test")
    assert not ack.automatic and build_email(ack)["Auto-Submitted"] == "auto-generated"


def test_at_most_mail_auto_per_hour_automatic_mails_per_address_and_hour(app, mailed_ticket, caplog):
    nora = mailed_ticket.requester
    caplog.set_level(logging.WARNING, logger="helpdesk.mail")
    for _ in range(3):  # the acknowledgement was the first; two more pass, then the limit holds
        with answering_inbound_mail():
            notify.subscriber_added(mailed_ticket, nora, automatic=True)
    rows = outbox(to_addr="nora@customer.test")
    assert [r.status for r in rows] == ["queued", "queued", "queued", "suppressed"]
    assert "MAIL_AUTO_PER_HOUR" in rows[-1].last_error and "suppressed" in caplog.text
    assert mail_delivery.claim_due() and db.session.get(OutboxMessage, rows[-1].id).status == "suppressed"

    other = mail_inbound.ingest(renamed(load_eml(PLAIN), 2))  # another ticket: the same address
    [ack] = outbox(kind="ticket_created", ticket_id=other.ticket_id, to_addr="nora@customer.test")
    assert ack.status == "suppressed"  # a loop opens a new ticket each round: counted per address
    db.session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(minutes=61)))
    with answering_inbound_mail():
        [later] = notify.subscriber_added(mailed_ticket, nora, automatic=True)
    assert later.status == "queued"  # an hour later


def test_mail_people_write_is_not_limited(app, make, ref, mailed_ticket, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_AUTO_PER_HOUR", 0)
    agent = make.technician(ref.categories[mailed_ticket.category.name])
    from helpdesk.tickets import lifecycle

    for n in range(4):
        lifecycle.add_message(mailed_ticket, agent, f"Answer {n}")
    rows = outbox(kind="public_reply", to_addr="nora@customer.test")
    assert len(rows) == 4 and {r.status for r in rows} == {"queued"}


def test_the_outbox_page_shows_mail_kept_back_by_the_limit(
    app, client, login, make, mailed_ticket, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_AUTO_PER_HOUR", 0)
    mail_inbound.ingest(renamed(load_eml(PLAIN), 3))
    login(make.admin())
    page = client.get("/admin/mail/?status=suppressed").get_data(as_text=True)
    assert "Not sent: automatic-mail limit" in page and "nora@customer.test" in page


@pytest.fixture
def smtp_server(app, monkeypatch):
    from tests.mail_support import running_smtp_server

    with running_smtp_server(app, monkeypatch) as handler:
        yield handler


def test_inbound_entries_record_the_sender_check(ref, trusted_mta):
    entry = mail_inbound.ingest(with_auth_results(load_eml(PLAIN)))
    assert db.session.get(InboundMail, entry.id).auth_result == f"{TRUSTED_MTA}: dmarc=pass"
