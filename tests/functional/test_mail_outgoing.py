"""Outgoing mail: notifications written with their event, delivered over a real SMTP conversation."""

import smtplib
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import delivery as mail_delivery
from helpdesk.mail import notify
from helpdesk.mail.models import OutboxMessage
from helpdesk.mail.tokens import parse_reply_address, thread_root_id
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import subscribers
from tests.mail_support import running_smtp_server, written


@pytest.fixture
def smtp_server(app, monkeypatch):
    with running_smtp_server(app, monkeypatch) as handler:
        yield handler


def outbox(**filters):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return written(db.session.scalars(query).all())


def open_ticket(make, ref, customer=None, subject="Printer on fire", body="Smoke everywhere."):
    customer = customer or make.customer(email="alice@example.test", name="Alice")
    ticket, _ = submission.submit_ticket(
        customer,
        subject=subject,
        body=body,
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    db.session.commit()
    return ticket


def test_new_ticket_acknowledges_customer_without_content_and_tells_category_agents(make, ref):
    it_tech = make.technician(ref.categories["IT"], email="it@example.test")
    make.technician(ref.categories["Sales"], email="sales@example.test")
    alice = make.customer(email="alice@example.test", name="Alice", timezone="Europe/Paris")
    ticket = open_ticket(make, ref, customer=alice)
    rows = outbox(kind="ticket_created")
    assert sorted(r.to_addr for r in rows) == ["alice@example.test", it_tech.email]
    ack = next(r for r in rows if r.to_addr == "alice@example.test")
    assert f"#{ticket.id}" in ack.subject and "Printer on fire" in ack.subject
    assert "Smoke everywhere" not in ack.body_text and "Smoke everywhere" not in ack.body_html
    due = ticket.due_at.astimezone(ZoneInfo("Europe/Paris"))  # the promise, in the reader's zone
    assert f"Priority Normal: we will answer by {due:%a %d %b %H:%M} (Europe/Paris)." in ack.body_text
    agent_mail = next(r for r in rows if r.to_addr == it_tech.email)
    assert "Smoke everywhere" in agent_mail.body_text


def test_notification_shares_the_event_transaction(make, ref):
    customer = make.customer()
    submission.submit_ticket(
        customer,
        subject="Never mind",
        body="x",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    db.session.rollback()
    assert outbox() == []


def test_agent_reply_goes_to_customer_and_subscribers_not_author(make, ref):
    agent = make.technician(ref.categories["IT"])
    ticket = open_ticket(make, ref)
    follower = make.customer(email="follower@example.test")
    make.subscribe(ticket, follower)
    tickets.add_message(ticket, agent, "Try turning it off and on again.")
    db.session.commit()
    rows = outbox(kind="public_reply")
    assert sorted(r.to_addr for r in rows) == ["alice@example.test", "follower@example.test"]
    assert "Try turning it off" in rows[0].body_text


def test_customer_reply_goes_to_assignee_or_else_category_agents(make, ref):
    first = make.technician(ref.categories["IT"], email="first@example.test")
    second = make.technician(ref.categories["IT"], email="second@example.test")
    ticket = open_ticket(make, ref)
    tickets.add_message(ticket, ticket.requester, "Any news?")
    db.session.commit()
    assert sorted(r.to_addr for r in outbox(kind="public_reply")) == [first.email, second.email]
    db.session.execute(db.delete(OutboxMessage))
    ticket.assignee = second
    tickets.add_message(ticket, ticket.requester, "Hello?")
    db.session.commit()
    assert [r.to_addr for r in outbox(kind="public_reply")] == [second.email]


def test_internal_note_sends_nothing(make, ref):
    agent = make.technician(ref.categories["IT"])
    ticket = open_ticket(make, ref)
    tickets.add_message(ticket, agent, "Customer seems confused.", internal=True)
    db.session.commit()
    assert outbox(kind="public_reply") == []


def test_resolving_tells_customer(make, ref):
    agent = make.technician(ref.categories["IT"])
    ticket = open_ticket(make, ref)
    tickets.set_status(ticket, agent, "resolved")
    db.session.commit()
    assert [r.to_addr for r in outbox(kind="ticket_resolved")] == ["alice@example.test"]


def test_worker_sends_threaded_multipart_mail_with_signed_reply_to(app, make, ref, smtp_server):
    ticket = open_ticket(make, ref)
    row = outbox(kind="ticket_created")[0]
    assert mail_delivery.process_due()["sent"] == 1
    [got] = smtp_server.received
    msg = got["message"]
    assert got["rcpt_tos"] == ["alice@example.test"]
    assert msg["Message-ID"] == row.message_id
    root = thread_root_id(ticket.id)
    assert msg["In-Reply-To"] == root and msg["References"] == root
    token = parse_reply_address(msg["Reply-To"])  # the recipient's own reply address
    assert (token.ticket_id, token.user_id, token.valid) == (ticket.id, ticket.requester_id, True)
    assert msg["Reply-To"].startswith(f"support+t{ticket.id}.")
    assert msg["Auto-Submitted"] == "auto-generated"  # a ticket opened on our pages: not a reply
    assert msg.get_content_type() == "multipart/alternative"
    assert "Printer on fire" in msg.get_body(("plain",)).get_content()
    assert "Printer on fire" in msg.get_body(("html",)).get_content()
    assert db.session.get(OutboxMessage, row.id).status == "sent"


def test_every_mail_of_a_ticket_threads_under_the_same_root(make, ref):
    agent = make.technician(ref.categories["IT"])
    ticket = open_ticket(make, ref)
    tickets.add_message(ticket, agent, "On it.")
    db.session.commit()
    rows = outbox(to_addr="alice@example.test")
    assert len(rows) == 2
    assert len({r.message_id for r in rows}) == 2
    assert {r.headers["References"] for r in rows} == {thread_root_id(ticket.id)}


def test_smtp_refusal_then_recovery_delivers_each_message_once(app, make, ref, smtp_server):
    make.technician(ref.categories["IT"])
    open_ticket(make, ref, subject="One")
    open_ticket(make, ref, customer=make.customer(), subject="Two")
    ids = {r.message_id for r in outbox()}
    assert len(ids) == 4
    smtp_server.refuse_always = True
    first = mail_delivery.process_due()
    assert first["deferred"] == 4 and smtp_server.received == []
    assert all(r.status == "queued" and r.last_error and "451" in r.last_error for r in outbox())
    assert mail_delivery.process_due()["sent"] == 0  # not due yet: backing off
    smtp_server.refuse_always = False
    later = utcnow() + timedelta(minutes=5)
    assert mail_delivery.process_due(now=later)["sent"] == 4
    assert mail_delivery.process_due(now=later + timedelta(hours=1))["sent"] == 0
    assert sorted(smtp_server.message_ids()) == sorted(ids)
    assert all(r.status == "sent" for r in outbox())


def test_crash_between_send_and_mark_repeats_the_same_message_id(app, make, ref, smtp_server):
    open_ticket(make, ref)
    [(row_id, to_addr, message)] = mail_delivery.claim_due()
    with smtplib.SMTP(app.config["MAIL_SERVER"], app.config["MAIL_PORT"]) as smtp:
        smtp.send_message(message, to_addrs=[to_addr])  # sent, then the worker "dies" before marking
    assert mail_delivery.process_due()["sent"] == 0  # claimed under lease: nobody sends it meanwhile
    after_lease = utcnow() + timedelta(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert mail_delivery.process_due(now=after_lease)["sent"] == 1
    ids = smtp_server.message_ids()
    assert len(ids) == 2 and ids[0] == ids[1] == db.session.get(OutboxMessage, row_id).message_id


def test_failed_after_max_attempts_then_admin_retry_delivers_once(
    app, client, login, make, ref, smtp_server, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    open_ticket(make, ref)
    smtp_server.refuse_always = True
    now = utcnow()
    mail_delivery.process_due(now=now)
    counts = mail_delivery.process_due(now=now + timedelta(hours=1))
    assert counts["failed"] == 1
    [row] = outbox()
    assert row.status == "failed"
    login(make.admin())
    page = client.get("/admin/mail/?status=failed")
    assert b"Printer on fire" in page.data and b"Retry" in page.data and b"451" in page.data
    response = client.post(f"/admin/mail/{row.id}/retry", headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"<html" not in response.data
    assert "HX-Request" in response.headers["Vary"] and b"Queued" in response.data
    plain = client.post(f"/admin/mail/{row.id}/retry", data={"back": "https://evil.example/"})
    assert plain.status_code == 302 and plain.headers["Location"] == "/admin/mail/?status=failed"
    said = client.get(plain.headers["Location"]).get_data(as_text=True)  # the row left this list
    assert "is queued again: the worker sends it next." in said
    smtp_server.refuse_always = False
    assert mail_delivery.process_due()["sent"] == 1
    assert smtp_server.message_ids() == [row.message_id]


@pytest.mark.committing  # two worker threads claim rows through their own connections
def test_two_workers_never_send_a_message_twice(app, make, ref, smtp_server):
    customer = make.customer()
    for n in range(12):
        open_ticket(make, ref, customer=customer, subject=f"Ticket {n}")
    expected = {r.message_id for r in outbox()}
    db.session.commit()  # end this thread's transaction (on SQLite it holds the write lock)
    errors = []

    def work():
        try:
            with app.app_context():
                while sum(mail_delivery.process_due(limit=3).values()):
                    pass
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(smtp_server.message_ids()) == sorted(expected)


@pytest.mark.committing  # the second worker claims through its own connection
def test_a_batch_that_outlasts_its_lease_sends_no_message_twice(app, make, ref, smtp_server, monkeypatch):
    customer = make.customer()
    for n in range(4):
        open_ticket(make, ref, customer=customer, subject=f"Ticket {n}")
    expected = {r.message_id for r in outbox()}
    db.session.commit()
    smtp_server.delay = 0.6  # a slow server: the batch of four takes longer than its lease
    monkeypatch.setitem(app.config, "MAIL_LEASE_SECONDS", 1)
    errors, first_done = [], threading.Event()

    def first():  # claims the four, sends them one after the other
        try:
            with app.app_context():
                mail_delivery.process_due()
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            first_done.set()

    def second():  # another worker, which claims what the first one's lease no longer covers
        try:
            with app.app_context():
                while sum(mail_delivery.process_due().values()) or not first_done.is_set():
                    first_done.wait(0.1)
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(smtp_server.message_ids()) == sorted(expected)  # each once


def test_header_injection_in_names_and_subjects_is_neutralised(app, make, ref, smtp_server):
    customer = make.customer(email="eve@example.test", name="Eve\r\nBcc: victim@example.test")
    open_ticket(make, ref, customer=customer, subject="Hi\r\nBcc: victim@example.test\nX-Evil: 1")
    mail_delivery.process_due()
    [got] = smtp_server.received
    msg = got["message"]
    assert got["rcpt_tos"] == ["eve@example.test"]
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "\n" not in msg["Subject"] and "victim@example.test" in msg["Subject"]
    assert msg["To"].addresses[0].addr_spec == "eve@example.test"
    head = got["raw"].split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\r\nX-Evil:" not in head


def test_devbox_keeps_mail_readable_for_admins(app, client, login, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "devbox")
    ticket = open_ticket(make, ref)
    [row] = outbox()
    assert row.status == "devbox"
    assert mail_delivery.process_due() == {"sent": 0, "deferred": 0, "failed": 0, "devbox": 0}
    login(make.admin())
    listing = client.get("/admin/mail/?status=devbox")
    assert b"In dev mailbox" in listing.data and b"alice@example.test" in listing.data
    detail = client.get(f"/admin/mail/{row.id}")
    assert b"We received your request" in detail.data
    assert row.headers["Reply-To"].encode() in detail.data
    assert row.headers["Reply-To"].startswith(f"support+t{ticket.id}.")
    html = client.get(f"/admin/mail/{row.id}/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]


def test_mail_admin_is_for_admins_only(client, login, make, ref):
    login(make.technician(ref.categories["IT"]))
    assert client.get("/admin/mail/").status_code == 404
    assert client.get("/admin/mail/inbound").status_code == 404
    client.post("/logout")
    assert "/login" in client.get("/admin/mail/").location


def test_outbox_list_fragment_for_htmx(client, login, make, ref):
    open_ticket(make, ref)
    login(make.admin())
    response = client.get("/admin/mail/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"outbox-list" in response.data and "HX-Request" in response.headers["Vary"]


def test_a_message_that_cannot_be_built_fails_alone(app, make, ref, smtp_server):
    open_ticket(make, ref)
    bad = outbox()[0]
    bad.to_addr = "not an address"
    db.session.commit()
    open_ticket(make, ref, customer=make.customer(email="bob@example.test"), subject="Other")
    counts = mail_delivery.process_due()
    assert counts["sent"] == 1
    assert db.session.get(OutboxMessage, bad.id).status == "failed"
    assert [r["rcpt_tos"] for r in smtp_server.received] == [["bob@example.test"]]


def test_billing_notifications_take_plain_arguments(make, ref):
    alice = make.customer(email="alice@example.test")
    ticket = open_ticket(make, ref, customer=alice)
    notify.low_balance(alice, balance=1, threshold=5)
    notify.purchase_receipt(alice, credits=50, amount_minor=4905, currency="usd", reference="pi_123")
    notify.sla_refund(alice, credits=3, ticket=ticket)
    db.session.commit()
    rows = {r.kind: r for r in outbox(to_addr="alice@example.test")}
    assert "down to 1 credit (at or below your warning level: 5 credits)" in rows["low_balance"].body_text
    assert (
        "49.05 USD" in rows["purchase_receipt"].body_text and "pi_123" in rows["purchase_receipt"].body_html
    )
    assert rows["sla_refund"].ticket_id == ticket.id and "3 credits" in rows["sla_refund"].body_text
    assert parse_reply_address(rows["sla_refund"].headers["Reply-To"]).user_id == alice.id


def test_user_text_is_escaped_in_html_parts(make, ref):
    make.technician(ref.categories["IT"])
    open_ticket(make, ref, subject="<script>alert(1)</script>", body='<img src=x onerror="alert(2)">')
    for row in outbox():
        assert "<script>" not in row.body_html and "<img" not in row.body_html
        assert "&lt;script&gt;" in row.body_html


def test_worker_loop_survives_a_failed_round_and_delivers_afterwards(
    app, make, ref, smtp_server, monkeypatch
):
    open_ticket(make, ref)
    real_process_due = mail_delivery.process_due
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")
        return real_process_due(*args, **kwargs)

    monkeypatch.setattr(mail_delivery, "process_due", flaky)
    said = []
    mail_delivery.run_worker(interval=0, echo=said.append, rounds=3)
    assert len(calls) == 3
    assert [got["rcpt_tos"] for got in smtp_server.received] == [["alice@example.test"]]
    assert said == ["sent 1"]


def test_reply_and_resolve_sends_each_follower_one_mail_that_says_both(client, login, make, ref):
    agent = make.technician(ref.categories["IT"], email="it@example.test", name="Ivan IT")
    ticket = open_ticket(make, ref)
    make.customer(email="watcher@example.test", name="Wanda")
    subscribers.add_subscriber(ticket, agent, "watcher@example.test")
    db.session.commit()
    login(agent)
    response = client.post(
        f"/agent/tickets/{ticket.id}/reply",
        data={"reply-body": "Swapped the fuser. Should be fine now.", "reply-action": "resolve"},
    )
    assert response.status_code in (302, 303)
    assert outbox(kind="ticket_resolved") == []  # no second mail on top of the reply
    mails = outbox(kind="public_reply")
    assert sorted(r.to_addr for r in mails) == ["alice@example.test", "watcher@example.test"]
    for mail in mails:
        assert "Swapped the fuser" in mail.body_text and "Swapped the fuser" in mail.body_html
        for body in (mail.body_text, mail.body_html):
            assert "Ivan IT marked this ticket resolved" in body and "it opens again" in body


def test_a_reply_then_a_resolve_later_still_sends_the_resolved_mail(client, login, make, ref):
    agent = make.technician(ref.categories["IT"], email="it@example.test", name="Ivan IT")
    ticket = open_ticket(make, ref)
    login(agent)
    client.post(
        f"/agent/tickets/{ticket.id}/reply", data={"reply-body": "Try again?", "reply-action": "reply"}
    )
    [reply] = outbox(kind="public_reply")
    assert "marked this ticket resolved" not in reply.body_text
    db.session.refresh(ticket)
    tickets.set_status(ticket, agent, "resolved")
    db.session.commit()
    assert [r.to_addr for r in outbox(kind="ticket_resolved")] == ["alice@example.test"]


def test_reply_and_resolve_in_the_development_mailbox_says_both_too(app, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "devbox")  # composed when written
    agent = make.technician(ref.categories["IT"], email="it@example.test", name="Ivan IT")
    ticket = open_ticket(make, ref)
    tickets.add_message(ticket, agent, "Cleaned the rollers.")
    tickets.set_status(ticket, agent, "resolved")
    db.session.commit()
    assert outbox(kind="ticket_resolved") == []
    [mail] = outbox(kind="public_reply")
    assert (
        "Cleaned the rollers." in mail.body_text and "Ivan IT marked this ticket resolved" in mail.body_text
    )
    assert "Ivan IT marked this ticket resolved" in mail.body_html


def test_mail_waiting_for_a_retry_is_not_sent_to_who_may_no_longer_see_the_ticket(
    app, make, ref, smtp_server
):
    """A reply's mail held back by a refusing SMTP server is sent later, as the ticket is then:
    a subscriber removed meanwhile, or a follower deactivated, does not get it; the others do,
    and the mail not sent says why on the admins' mail page."""
    tech = make.technician(ref.categories["IT"])
    ticket = open_ticket(make, ref)
    removed = make.customer(email="removed@example.test", name="Rita Removed")
    gone = make.customer(email="gone@example.test", name="Gus Gone")
    make.subscribe(ticket, removed)
    make.subscribe(ticket, gone)
    db.session.commit()
    mail_delivery.process_due()
    smtp_server.received.clear()
    smtp_server.refuse_always = True
    tickets.send_message(ticket, tech, "The fix: reset the fuser.")
    db.session.commit()
    assert mail_delivery.process_due()["deferred"] == 3
    subscribers.remove_subscriber(ticket, tech, removed.id)
    gone.active = False
    db.session.commit()
    smtp_server.refuse_always = False
    assert mail_delivery.process_due(now=utcnow() + timedelta(minutes=5))["sent"] == 1
    assert [r["rcpt_tos"] for r in smtp_server.received] == [["alice@example.test"]]
    [to_removed] = outbox(to_addr="removed@example.test")
    assert to_removed.status == "failed"
    assert to_removed.last_error == f"not sent: Rita Removed may no longer see ticket #{ticket.id}"
    [to_gone] = outbox(to_addr="gone@example.test")
    assert to_gone.last_error == "not sent: Gus Gone is deactivated"
    mail_delivery.retry(to_removed)
    db.session.commit()
    mail_delivery.process_due()
    assert len(smtp_server.received) == 1 and outbox(to_addr="removed@example.test")[0].status == "failed"
