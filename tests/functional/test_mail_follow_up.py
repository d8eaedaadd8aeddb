"""A reply by mail to a closed ticket: from its requester, their organization's manager or a
subscriber it opens a follow-up ticket linked both ways (free priority, acknowledged like a new
ticket); from anyone else it is rejected with the reason. Resolved tickets still reopen, and mail
answering a merged duplicate still goes to the kept ticket."""

import pytest
from sqlalchemy import func, select

from helpdesk.credits import submission
from helpdesk.credits.models import LedgerEntry
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail.models import InboundMail, OutboxMessage
from helpdesk.mail.tokens import reply_address, thread_root_id
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import merging
from helpdesk.tickets.models import Attachment, Message, Subscription, Ticket, TicketEvent
from tests.credit_helpers import balance_of, bank
from tests.mail_support import load_eml, printer_ticket, renamed, written

from .agent_support import HTMX


@pytest.fixture
def alice(make):
    return make.customer(email="alice@example.test", name="Alice Archer")


@pytest.fixture
def closed(ref, alice):
    """Alice's "Printer on fire", which she closed herself."""
    ticket = printer_ticket(alice, ref)
    tickets.close_ticket(ticket, alice)
    db.session.commit()
    return ticket


def reply(ticket, sender, n=1):
    """`sender`'s answer to our mail about `ticket`, through the reply address issued to them."""
    raw = load_eml(
        "reply_plain.eml",
        ID=ticket.id,
        TOKEN=reply_address(ticket.id, sender.id),
        ROOT=thread_root_id(ticket.id),
    ).replace(b"Alice Archer <alice@example.test>", f"{sender.name} <{sender.email}>".encode())
    return renamed(raw, n) if n > 1 else raw


def fresh(ticket_id):
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def ticket_count():
    return db.session.scalar(select(func.count(Ticket.id)))


def public_bodies(ticket_id):
    return [m.body for m in fresh(ticket_id).messages if not m.internal]


def mails_to(addr):
    return written(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == addr).order_by(OutboxMessage.id)
        ).all()
    )


def history(ticket_id, field):
    return db.session.scalars(
        select(TicketEvent.new_value).where(TicketEvent.ticket_id == ticket_id, TicketEvent.field == field)
    ).all()


def test_the_requesters_reply_to_a_closed_ticket_opens_a_linked_follow_up(alice, closed):
    entry = mail_inbound.ingest(reply(closed, alice))

    follow_up = fresh(entry.ticket_id)
    assert entry.outcome == "new_ticket" and follow_up.id != closed.id
    assert entry.reason == f"follow-up ticket #{follow_up.id} of closed #{closed.id}"
    assert follow_up.requester_id == alice.id and follow_up.status == "new"
    assert follow_up.subject == "Re: Printer on fire"
    assert follow_up.body == "Thanks, turning it off and on worked.\n\nAlice"  # the quote trimmed
    assert (follow_up.category.name, follow_up.priority.name) == ("IT", "Normal")
    assert follow_up.organization_id == closed.organization_id
    # Each names the other, where customers and agents read the conversation and in the history.
    [on_closed] = public_bodies(closed.id)
    assert f"follow-up ticket #{follow_up.id} (Re: Printer on fire)" in on_closed
    [on_follow_up] = public_bodies(follow_up.id)
    assert f"follow-up of ticket #{closed.id} (Printer on fire)" in on_follow_up
    assert history(closed.id, "followed up in") == [f"#{follow_up.id}"]
    assert history(follow_up.id, "follow-up of") == [f"#{closed.id}"]
    assert fresh(closed.id).status == "closed"
    [ack] = [m for m in mails_to("alice@example.test") if m.ticket_id == follow_up.id]
    assert ack.kind == "ticket_created" and ack.subject == f"[#{follow_up.id}] Re: Printer on fire"


def test_the_closed_tickets_page_links_to_the_follow_up(client, login, alice, closed):
    entry = mail_inbound.ingest(reply(closed, alice))
    login(alice)
    page = client.get(f"/portal/tickets/{closed.id}").get_data(as_text=True)
    assert f"which opened follow-up ticket #{entry.ticket_id}" in page
    assert "the conversation continues there" in page


def test_the_inbound_log_shows_the_follow_up_as_a_new_ticket(client, login, make, alice, closed):
    entry = mail_inbound.ingest(reply(closed, alice))
    login(make.admin())
    page = client.get(f"/admin/mail/inbound/{entry.id}").get_data(as_text=True)
    assert "New ticket" in page and f"follow-up ticket #{entry.ticket_id} of closed #{closed.id}" in page
    assert "Rejected" not in page


def test_a_ticket_the_auto_close_closed_is_followed_up_too(app, make, ref, alice):
    ticket = printer_ticket(alice, ref)
    tickets.set_status(ticket, make.technician(ref.categories["IT"]), "resolved")
    db.session.commit()
    assert mail_inbound.ingest(reply(ticket, alice)).outcome == "reply"  # resolved: it reopens
    assert fresh(ticket.id).status == "open" and ticket_count() == 1

    tickets.set_status(ticket, make.technician(ref.categories["IT"]), "resolved")
    assert tickets.close_resolved_quietly(fresh(ticket.id), 0)  # as `flask tickets auto-close` does
    db.session.commit()
    entry = mail_inbound.ingest(reply(ticket, alice, n=2))
    assert entry.outcome == "new_ticket" and entry.ticket_id != ticket.id and ticket_count() == 2


def test_a_subscriber_and_the_organizations_manager_follow_their_follow_up(make, ref):
    org = make.OrganizationFactory(name="Acme")
    dave = make.customer(organization=org, email="dave@acme.test", name="Dave Dunn")
    carol = make.customer(organization=org, is_org_manager=True, email="carol@acme.test", name="Carol")
    sam = make.customer(email="sam@example.test", name="Sam Sub")
    ticket = printer_ticket(dave, ref)
    make.subscribe(ticket, sam)
    tickets.close_ticket(ticket, dave)
    db.session.commit()

    by_sam = fresh(mail_inbound.ingest(reply(ticket, sam)).ticket_id)
    by_carol = fresh(mail_inbound.ingest(reply(ticket, carol, n=2)).ticket_id)

    for follow_up, writer in ((by_sam, sam), (by_carol, carol)):
        assert follow_up.id != ticket.id and follow_up.requester_id == dave.id
        assert follow_up.organization_id == org.id
        following = set(
            db.session.scalars(select(Subscription.user_id).where(Subscription.ticket_id == follow_up.id))
        )
        assert writer.id in following and sam.id in following  # the closed ticket's follower too
        assert [m.kind for m in mails_to(writer.email) if m.ticket_id == follow_up.id] == ["ticket_created"]
        assert [m.kind for m in mails_to(dave.email) if m.ticket_id == follow_up.id] == ["ticket_created"]
        assert f"{writer.name} wrote after this ticket was closed" in " ".join(public_bodies(ticket.id))
    assert (
        history(by_sam.id, "created")
        and db.session.scalar(
            select(TicketEvent.actor_id).where(
                TicketEvent.ticket_id == by_sam.id, TicketEvent.field == "created"
            )
        )
        == sam.id
    )


def test_a_closed_paid_ticket_is_followed_up_at_the_free_priority_and_nothing_is_charged(make, ref, alice):
    account = bank("Pay as you go", 1000, user=alice)
    urgent, _ = submission.submit_ticket(
        alice,
        subject="Server down",
        body="All of it.",
        category_id=ref.categories["Sales"].id,
        priority_id=ref.priorities["Urgent"].id,
    )
    tickets.close_ticket(urgent, alice)
    db.session.commit()
    balance, entries = balance_of(account), db.session.scalar(select(func.count(LedgerEntry.id)))

    follow_up = fresh(mail_inbound.ingest(reply(urgent, alice)).ticket_id)
    assert (follow_up.priority.name, follow_up.category.name) == ("Normal", "Sales")
    assert balance_of(account) == balance
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == entries


def test_a_paid_default_priority_is_never_given_by_mail(app, monkeypatch, alice, closed):
    bank("Pay as you go", 1000, user=alice)
    monkeypatch.setitem(app.config, "DEFAULT_PRIORITY", "Urgent")
    follow_up = fresh(mail_inbound.ingest(reply(closed, alice)).ticket_id)
    assert follow_up.priority.name == "Low"  # the plan's least urgent free one


def test_a_follow_up_is_not_re_re(alice, closed):
    first = fresh(mail_inbound.ingest(reply(closed, alice)).ticket_id)
    tickets.close_ticket(first, alice)
    db.session.commit()
    second = fresh(mail_inbound.ingest(reply(first, alice, n=2)).ticket_id)
    assert second.subject == "Re: Printer on fire"
    assert history(second.id, "follow-up of") == [f"#{first.id}"]


def test_the_attachments_pass_the_upload_checks(alice, closed):
    raw = (
        load_eml("new_ticket_attachments.eml")
        .replace(b"Nora Newton <nora@customer.test>", b"Alice Archer <alice@example.test>")
        .replace(b"To: support@helpdesk.example", f"To: {reply_address(closed.id, alice.id)}".encode())
    )
    entry = mail_inbound.ingest(raw)
    follow_up = fresh(entry.ticket_id)
    assert entry.outcome == "new_ticket" and follow_up.id != closed.id
    names = db.session.scalars(select(Attachment.filename).where(Attachment.ticket_id == follow_up.id)).all()
    assert "boot.log" in names and "fix.exe" not in names
    assert "fix.exe" in follow_up.body and "fix.exe" in entry.reason
    assert entry.reason.startswith(f"follow-up ticket #{follow_up.id} of closed #{closed.id}; ")


def test_the_same_mail_delivered_twice_opens_one_follow_up(alice, closed):
    raw = reply(closed, alice)
    assert mail_inbound.ingest(raw).outcome == "new_ticket"
    assert mail_inbound.ingest(raw).outcome == "duplicate"
    assert ticket_count() == 2


def test_an_empty_answer_opens_nothing(alice, closed):
    head, _body = reply(closed, alice).split(b"\r\n\r\n", 1)
    raw = head + b"\r\n\r\n \r\n"
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "refused" and "empty reply" in entry.reason and ticket_count() == 1


@pytest.mark.parametrize("stranger", ["customer", "unknown"])
def test_a_stranger_answering_a_closed_ticket_is_rejected_with_the_reason(make, alice, closed, stranger):
    if stranger == "customer":  # once a subscriber, since removed: their reply address still names them
        bob = make.customer(email="bob@example.test", name="Bob Baker")
        raw = reply(closed, bob)
    else:  # answers by References alone, from an address without an account
        raw = reply(closed, alice).replace(
            reply_address(closed.id, alice.id).encode(), b"support@helpdesk.example"
        )
        raw = raw.replace(b"Alice Archer <alice@example.test>", b"Mallory <bob@example.test>")
    outbox = db.session.scalar(select(func.count(OutboxMessage.id)))
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "rejected" and entry.raw
    assert entry.reason == (
        "the sender bob@example.test is not the requester, their organization's manager or a"
        f" subscriber of ticket #{closed.id}"
    )
    assert ticket_count() == 1 and public_bodies(closed.id) == []
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == outbox


def test_an_agents_reply_to_a_closed_ticket_stays_on_it(app, monkeypatch, make, ref, closed):
    ivan = make.technician(ref.categories["IT"], email="ivan@example.test", name="Ivan IT")
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", "mx.helpdesk.example")
    raw = b"Authentication-Results: mx.helpdesk.example;\r\n dmarc=pass\r\n" + reply(closed, ivan)
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "reply" and entry.ticket_id == closed.id and ticket_count() == 1


def test_mail_answering_a_merged_duplicate_goes_to_the_kept_ticket_or_its_follow_up(make, ref, alice):
    agent = make.technician(ref.categories["IT"])
    kept = printer_ticket(alice, ref)
    duplicate, _ = submission.submit_ticket(
        alice,
        subject="Printer smokes",
        body="Again.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    merging.merge(duplicate, kept, agent)
    db.session.commit()

    entry = mail_inbound.ingest(reply(duplicate, alice))
    assert entry.outcome == "reply" and entry.ticket_id == kept.id  # the kept ticket is open
    assert ticket_count() == 2

    tickets.close_ticket(fresh(kept.id), alice)
    db.session.commit()
    entry = mail_inbound.ingest(reply(duplicate, alice, n=2))
    follow_up = fresh(entry.ticket_id)
    assert entry.outcome == "new_ticket" and follow_up.id not in (kept.id, duplicate.id)
    assert entry.reason == f"follow-up ticket #{follow_up.id} of closed #{kept.id}"
    assert follow_up.subject == "Re: Printer on fire"
    assert fresh(duplicate.id).status == "closed" and fresh(duplicate.id).merged_into_id == kept.id


def test_a_held_answer_accepted_by_an_admin_opens_the_follow_up(
    client, login, make, app, monkeypatch, alice, closed
):
    monkeypatch.setitem(app.config, "MAIL_REQUIRE_AUTH", True)
    entry = mail_inbound.ingest(reply(closed, alice))
    assert entry.outcome == "unverified" and ticket_count() == 1
    login(make.admin())
    client.post(f"/admin/mail/inbound/{entry.id}/accept", headers=HTMX)
    db.session.expire_all()
    entry = db.session.get(InboundMail, entry.id)
    assert entry.outcome == "new_ticket" and ticket_count() == 2
    assert f"follow-up ticket #{entry.ticket_id} of closed #{closed.id}" in entry.reason
    assert db.session.scalar(select(func.count(Message.id)).where(Message.ticket_id == closed.id)) == 1


def test_a_follow_up_goes_to_the_agent_who_had_the_closed_ticket(make, ref, alice):
    from helpdesk.accounts import availability
    from helpdesk.notices.models import Notice

    ivan = make.technician(ref.categories["IT"], email="ivan@example.test", name="Ivan IT")
    ticket = printer_ticket(alice, ref)
    ticket.assignee = ivan
    tickets.close_ticket(ticket, alice)
    db.session.commit()
    follow_up = fresh(mail_inbound.ingest(reply(ticket, alice)).ticket_id)
    assert follow_up.assignee_id == ivan.id  # who knows the story, not the queue
    assert history(follow_up.id, "assignee") == ["Ivan IT"]
    [text] = db.session.scalars(
        select(Notice.text).where(Notice.user_id == ivan.id, Notice.ticket_id == follow_up.id)
    ).all()
    assert text.endswith(
        f"was assigned to you: you had #{ticket.id}, which it follows up."
    )  # not "Round-robin"

    availability.set_availability(ivan, round_robin=False, away=True)  # on holiday: not to him
    tickets.close_ticket(follow_up, alice)
    db.session.commit()
    second = fresh(mail_inbound.ingest(reply(follow_up, alice, n=2)).ticket_id)
    assert second.id != follow_up.id and second.assignee_id is None


def test_a_follow_up_is_not_given_to_an_agent_who_lost_the_category(make, ref, alice):
    ivan = make.technician(ref.categories["Sales"], email="ivan@example.test", name="Ivan IT")
    ticket = printer_ticket(alice, ref)  # IT
    ticket.assignee = ivan  # assigned when he still had IT
    tickets.close_ticket(ticket, alice)
    db.session.commit()
    follow_up = fresh(mail_inbound.ingest(reply(ticket, alice)).ticket_id)
    assert follow_up.assignee_id is None
