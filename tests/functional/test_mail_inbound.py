"""Inbound mail from .eml fixtures: replies, new tickets, refusals, loop protection, odd encodings."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.accounts.models import User
from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail.models import InboundMail, OutboxMessage
from helpdesk.mail.tokens import reply_address, thread_root_id
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets.models import Attachment, Message, Subscription, Ticket
from tests.credit_helpers import balance_of, bank
from tests.mail_support import TRUSTED_MTA, load_eml, printer_ticket, with_auth_results, written


@pytest.fixture
def alice(make):
    return make.customer(email="alice@example.test", name="Alice Archer")


@pytest.fixture
def ticket(make, ref, alice):
    return printer_ticket(alice, ref)


@pytest.fixture
def trusted_mta(app, monkeypatch):
    """Our MTA's Authentication-Results are trusted (tests add them with with_auth_results)."""
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", TRUSTED_MTA)


def eml(name, ticket=None, sender=None, **extra):
    """A fixture message; {{TOKEN}} is the reply address issued to `sender` (the requester)."""
    values = dict(extra)
    if ticket is not None:
        values.update(
            ID=ticket.id,
            TOKEN=reply_address(ticket.id, (sender or ticket.requester).id),
            ROOT=thread_root_id(ticket.id),
        )
    return load_eml(name, **values)


def public_messages(ticket):
    db.session.expire_all()
    return [m for m in db.session.get(Ticket, ticket.id).messages if not m.internal]


def mails_to(addr):
    return written(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == addr).order_by(OutboxMessage.id)
        ).all()
    )


def test_reply_lands_on_ticket_with_quote_and_signature_trimmed(ticket, alice):
    entry = mail_inbound.ingest(eml("reply_plain.eml", ticket))
    assert entry.outcome == "reply" and entry.ticket_id == ticket.id and entry.raw is None
    [message] = public_messages(ticket)
    assert message.author_id == alice.id and message.source == "email"
    assert message.body == "Thanks, turning it off and on worked.\n\nAlice"


def test_html_only_reply_becomes_plain_text_without_markup(ticket):
    mail_inbound.ingest(eml("reply_html_only.eml", ticket))
    [message] = public_messages(ticket)
    assert "Still broken, see below." in message.body and "Second line" in message.body
    for bad in ("<", "alert", "script", "color: red", "Try turning it off"):
        assert bad not in message.body


def test_latin1_alternative_reply_prefers_text_and_decodes_words(ticket):
    entry = mail_inbound.ingest(eml("reply_alternative_latin1.eml", ticket))
    assert entry.outcome == "reply" and entry.subject == f"Re: [#{ticket.id}] Drücker"
    [message] = public_messages(ticket)
    assert message.body == "Der Drücker läuft wieder. Grüße"


def test_reply_by_references_alone_without_token(ticket, alice):
    agent_row = mails_to("alice@example.test")[0]
    raw = eml("reply_plain.eml", ticket).replace(
        reply_address(ticket.id, alice.id).encode(), b"support@helpdesk.example"
    )
    # In-Reply-To names the mail we sent Alice: that identifies her as well as her reply address.
    raw = raw.replace(thread_root_id(ticket.id).encode(), agent_row.message_id.encode())
    assert mail_inbound.ingest(raw).outcome == "reply"
    assert len(public_messages(ticket)) == 1


def test_customer_reply_reopens_resolved_ticket(make, ref, ticket):
    agent = make.technician(ref.categories["IT"])
    tickets.set_status(ticket, agent, "resolved")
    db.session.commit()
    mail_inbound.ingest(eml("reply_plain.eml", ticket))
    assert db.session.get(Ticket, ticket.id).status == "open"


@pytest.mark.parametrize(
    ("fixture", "outcome"),
    [
        ("forged_token.eml", "rejected"),
        ("stranger_reply.eml", "rejected"),
        ("auto_reply.eml", "ignored"),
    ],
)
def test_refused_replies_leave_ticket_untouched_and_tell_nobody(make, ref, ticket, fixture, outcome):
    agent = make.technician(ref.categories["IT"])
    tickets.set_status(ticket, agent, "resolved")
    db.session.commit()
    outbox_before = db.session.scalar(select(db.func.count(OutboxMessage.id)))
    entry = mail_inbound.ingest(eml(fixture, ticket))
    assert entry.outcome == outcome and entry.raw and entry.reason
    assert public_messages(ticket) == []
    assert db.session.get(Ticket, ticket.id).status == "resolved"
    assert db.session.scalar(select(db.func.count(OutboxMessage.id))) == outbox_before
    assert mails_to("mallory@elsewhere.test") == []


def test_token_and_references_naming_different_tickets_is_refused(make, ref, alice, ticket):
    other, _ = submission.submit_ticket(
        alice,
        subject="Other",
        body="x",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    db.session.commit()
    entry = mail_inbound.ingest(eml("mismatched.eml", ticket, OTHER_ROOT=thread_root_id(other.id)))
    assert entry.outcome == "rejected" and "references another ticket" in entry.reason
    assert public_messages(ticket) == [] and public_messages(other) == []


def test_cc_on_a_reply_grants_nothing(ticket):
    assert mail_inbound.ingest(eml("cc_on_reply.eml", ticket)).outcome == "reply"
    assert db.session.scalar(select(User).where(User.email == "outsider@elsewhere.test")) is None
    assert db.session.scalars(select(Subscription)).all() == []


def test_unknown_verified_sender_opens_ticket_with_cc_as_subscribers(make, ref, trusted_mta):
    it_tech = make.technician(ref.categories["Billing"])  # first active category by name
    entry = mail_inbound.ingest(with_auth_results(load_eml("new_ticket_cc.eml")))
    assert entry.outcome == "new_ticket"
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert ticket.subject == "Laptop will not boot" and ticket.category.name == "Billing"
    assert ticket.priority.name == "Normal" and ticket.requester.email == "nora@customer.test"
    assert ticket.requester.name == "Newton, Nora" and ticket.requester.password_hash is None
    followers = sorted(s.user.email for s in ticket.subscriptions)
    assert followers == ["boss@customer.test", "carl@customer.test"]
    [ack] = [r for r in mails_to("nora@customer.test") if r.kind == "ticket_created"]
    assert f"#{ticket.id}" in ack.subject and "black screen" not in ack.body_text
    assert "choose a password at http://127.0.0.1:5000/reset-password" in ack.body_text
    assert [r.kind for r in mails_to("carl@customer.test")] == ["subscriber_added"]
    assert "black screen" not in mails_to("carl@customer.test")[0].body_text
    assert "black screen" in mails_to(it_tech.email)[0].body_text


def test_cc_subscription_can_be_switched_off(app, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_CC_SUBSCRIBE", False)
    entry = mail_inbound.ingest(load_eml("new_ticket_cc.eml"))
    assert db.session.get(Ticket, entry.ticket_id).subscriptions == []


def test_existing_customer_mail_opens_ticket_on_their_account(ref, make):
    nora = make.customer(email="nora@customer.test")
    entry = mail_inbound.ingest(load_eml("new_ticket_cc.eml"))
    assert db.session.get(Ticket, entry.ticket_id).requester_id == nora.id


def test_attachments_checked_like_uploads_inline_image_kept_exe_refused(ref):
    entry = mail_inbound.ingest(load_eml("new_ticket_attachments.eml"))
    assert entry.outcome == "new_ticket"
    ticket = db.session.get(Ticket, entry.ticket_id)
    names = sorted(
        a.filename for a in db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id))
    )
    assert names == ["boot.log", "inline-1.png"]
    assert ticket.body.startswith("See the screenshot and the log.")
    assert "fix.exe" in ticket.body and "fix.exe" in entry.reason


def test_attachment_over_the_size_limit_is_refused_with_reason(app, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_BYTES", 30)
    entry = mail_inbound.ingest(load_eml("new_ticket_attachments.eml"))
    assert entry.outcome == "new_ticket" and "inline-1.png: larger than" in entry.reason
    assert [a.filename for a in db.session.scalars(select(Attachment))] == ["boot.log"]


def test_message_over_the_size_limit_is_refused_and_kept(app, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_MESSAGE_BYTES", 100)
    raw = load_eml("new_ticket_cc.eml")
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "refused" and entry.raw == raw
    assert db.session.scalars(select(Ticket)).all() == []


def test_unknown_charset_is_read_not_crashed(ref):
    entry = mail_inbound.ingest(load_eml("broken_charset.eml"))
    assert entry.outcome == "new_ticket"
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert "screen is blank" in ticket.body and "menu broken" in ticket.subject


@pytest.mark.parametrize("fixture", ["precedence_bulk.eml", "from_ourselves.eml"])
def test_bulk_and_own_mail_is_ignored(ref, fixture):
    entry = mail_inbound.ingest(load_eml(fixture))
    assert entry.outcome == "ignored" and entry.raw
    assert db.session.scalars(select(Ticket)).all() == []
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_message_without_sender_is_refused_and_kept(ref):
    entry = mail_inbound.ingest(load_eml("no_sender.eml"))
    assert entry.outcome == "refused" and b"Nobody sent this" in entry.raw


def test_garbage_is_logged_never_lost(ref):
    raw = b"\x00\xff\xfe not a mail at all \r\n\r\n\x80\x81"
    entry = mail_inbound.ingest(raw)
    assert entry.outcome in ("refused", "failed") and entry.raw == raw


def test_same_message_twice_is_applied_once(ticket):
    raw = eml("reply_plain.eml", ticket)
    assert mail_inbound.ingest(raw).outcome == "reply"
    assert mail_inbound.ingest(raw).outcome == "duplicate"
    assert len(public_messages(ticket)) == 1


def test_a_message_without_message_id_fetched_twice_is_applied_once(ticket):
    # An IMAP poll whose delete fails after the message was stored fetches it again next time:
    # without a Message-ID it is still recognised by its bytes, and only the same bytes.
    raw = eml("reply_plain.eml", ticket).replace(b"Message-ID: <reply-plain-1@mail.example.test>\r\n", b"")
    assert b"Message-ID" not in raw
    assert mail_inbound.ingest(raw).outcome == "reply"
    again = mail_inbound.ingest(raw)
    assert again.outcome == "duplicate" and "processed before" in again.reason
    assert len(public_messages(ticket)) == 1
    other = raw.replace(b"\r\n\r\n", b"\r\n\r\nOne more thing.\r\n", 1)
    assert mail_inbound.ingest(other).outcome == "reply"
    assert len(public_messages(ticket)) == 2


def test_per_sender_rate_limit(app, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_INBOUND_RATE_LIMIT", 3)
    raw = load_eml("new_ticket_cc.eml")
    outcomes = [
        mail_inbound.ingest(raw.replace(b"<new-cc-1@", f"<new-cc-{n}@".encode())).outcome for n in range(5)
    ]
    assert outcomes == ["new_ticket"] * 3 + ["rate_limited"] * 2
    later = utcnow() + timedelta(hours=2)
    assert mail_inbound.ingest(raw.replace(b"<new-cc-1@", b"<new-cc-9@"), now=later).outcome == "new_ticket"


def test_inbound_log_page_shows_refusals_to_admins(client, login, make, ticket):
    entry = mail_inbound.ingest(eml("stranger_reply.eml", ticket))
    login(make.admin())
    listing = client.get("/admin/mail/inbound")
    assert b"mallory@elsewhere.test" in listing.data and b"rejected" in listing.data
    detail = client.get(f"/admin/mail/inbound/{entry.id}")
    assert b"I am Alice, honest" in detail.data


def test_message_counts_stay_consistent(ticket):
    mail_inbound.ingest(eml("reply_plain.eml", ticket))
    assert db.session.scalar(select(db.func.count(Message.id))) == 1
    assert db.session.scalar(select(db.func.count(InboundMail.id))) == 1


def test_imap_poll_processes_and_deletes_only_what_was_stored(app, ref, monkeypatch):
    from helpdesk.mail import imap as mail_imap
    from tests.mail_support import FakeImapMailbox, poll_from

    good = load_eml("new_ticket_cc.eml")
    bulk = load_eml("precedence_bulk.eml")
    unreadable = load_eml("new_ticket_attachments.eml")
    mailbox = FakeImapMailbox([good, bulk, unreadable])
    mailbox.unreadable.add(3)
    port = mailbox.start()
    try:
        poll_from(app, monkeypatch, port)
        assert mail_imap.poll() == 2
        assert sorted(mailbox.messages) == [3]  # the one we could not read stays for the next poll
        outcomes = sorted(e.outcome for e in db.session.scalars(select(InboundMail)))
        assert outcomes == ["ignored", "new_ticket"]
        assert mail_imap.poll() == 0 and sorted(mailbox.messages) == [3]
    finally:
        mailbox.stop()


def test_storage_failure_rolls_back_and_keeps_the_raw_message(app, ref, monkeypatch, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the upload folder should be")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(blocked))
    raw = load_eml("new_ticket_attachments.eml")
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "failed" and entry.raw == raw and "Error" in entry.reason
    assert db.session.scalars(select(Ticket)).all() == []
    assert db.session.scalars(select(User)).all() == []
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    assert mail_inbound.ingest(raw).outcome == "new_ticket"  # the same message, once storage is back


@pytest.mark.parametrize("who", ["subscriber", "agent"])
def test_subscribers_and_agents_may_reply_by_mail(make, ref, ticket, trusted_mta, who):
    if who == "agent":
        sender = make.technician(ref.categories["IT"], email="ivan@example.test")
    else:
        sender = make.customer(email="sub@example.test")
        make.subscribe(ticket, sender)
    raw = eml("reply_plain.eml", ticket, sender).replace(
        b"Alice Archer <alice@example.test>", sender.email.encode()
    )
    if who == "agent":
        raw = with_auth_results(raw)  # staff speak by mail only with a verified sender
    assert mail_inbound.ingest(raw).outcome == "reply"
    [message] = public_messages(ticket)
    assert message.author_id == sender.id
    assert [r.kind for r in mails_to("alice@example.test")][-1] == "public_reply"


def test_agent_of_another_category_may_not_reply_by_mail(make, ref, ticket):
    sales = make.technician(ref.categories["Sales"], email="sara@example.test")
    raw = eml("reply_plain.eml", ticket, sales).replace(
        b"Alice Archer <alice@example.test>", sales.email.encode()
    )
    assert mail_inbound.ingest(raw).outcome == "rejected"
    assert public_messages(ticket) == []


def test_control_characters_in_a_mail_are_dropped_not_stored(ref):
    """PostgreSQL refuses NUL in text: a mail carrying one opens its ticket all the same."""
    raw = (
        load_eml("new_ticket_plain.eml")
        .replace(b"Subject: Printer jams", b"Subject: Printer\x00 jams\x07")
        .replace(b"jams on every page.", b"jams\x00 on every page.")
    )
    mail_inbound.ingest(raw)
    db.session.commit()
    ticket = db.session.scalar(select(Ticket))
    assert ticket.subject == "Printer jams"
    assert "jams on every page." in ticket.body


def test_a_new_ticket_by_mail_is_never_given_a_paid_priority(app, monkeypatch, make, ref):
    """Nobody agrees to a price by mail: a customer whose plan charges for DEFAULT_PRIORITY gets
    their plan's free priority, and nothing is charged (it charged 250 credits, or failed)."""
    nora = make.customer(email="nora@customer.test", name="Nora Newton")
    account = bank("Pay as you go", 1000, user=nora)
    monkeypatch.setitem(app.config, "DEFAULT_PRIORITY", "Urgent")
    entry = mail_inbound.ingest(load_eml("new_ticket_plain.eml"))
    db.session.commit()
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert ticket.priority.name == "Low" and ticket.paid_credits == 0  # its least urgent free one
    assert balance_of(account) == 1000
    monkeypatch.setitem(app.config, "DEFAULT_PRIORITY", "Normal")
    raw = load_eml("new_ticket_plain.eml").replace(b"plain-1@", b"plain-2@")
    assert db.session.get(Ticket, mail_inbound.ingest(raw).ticket_id).priority.name == "Normal"


# --- the length of a ticket's text ----------------------------------------------------------------


def long_text(n):
    """`n` characters of numbered lines, so where a text was cut can be told."""
    lines, size, i = [], 0, 0
    while size < n:
        line = f"line {i:06d} of the log the customer pasted into the mail"
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)[: n - 1] + "."


def test_a_new_ticket_by_mail_keeps_the_web_forms_limit_and_attaches_the_full_text(client, login, make, ref):
    text = long_text(120_000)
    raw = load_eml("new_ticket_plain.eml").replace(
        b"The printer on floor 2 jams on every page.", text.encode()
    )
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "new_ticket" and "text cut at 50,000 characters" in entry.reason
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert len(ticket.body) <= 50_000 and ticket.body.startswith(text[:40_000])
    assert ticket.body.endswith(
        "(This message was cut at 50,000 characters; the full text, 120,000 characters,"
        " is attached as full-message.txt.)"
    )
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
    assert attachment.filename == "full-message.txt"
    nora = db.session.scalar(select(User).where(User.email == "nora@customer.test"))
    nora.email_confirmed_at = utcnow()
    db.session.commit()
    login(nora)
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "the full text, 120,000 characters, is attached as full-message.txt" in page
    assert len(page) < 200_000
    with client.get(f"/attachments/{attachment.id}/full-message.txt") as download:
        assert download.status_code == 200 and download.get_data().decode() == text


def test_a_long_reply_whose_full_text_cannot_be_attached_says_so_and_keeps_the_mail(
    app, monkeypatch, make, ref, ticket
):
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_BYTES", 10_000)
    agent = make.technician(ref.categories["IT"])
    text = long_text(60_000)
    raw = eml("reply_plain.eml", ticket).replace(b"Thanks, turning it off and on worked.", text.encode())
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "reply" and entry.raw == raw
    assert "the full text could not be attached" in entry.reason
    [message] = public_messages(ticket)
    assert len(message.body) <= 50_000 and message.body.startswith(text[:40_000])
    full = len(text + "\n\nAlice")  # her reply: the text and her name, the quote and signature cut
    assert message.body.endswith(
        f"(This message was cut at 50,000 characters; the full text, {full:,} characters, could not be"
        " attached: full-message.txt: larger than the 10 KB limit. The help desk keeps the original mail.)"
    )
    assert message.attachments == []
    [row] = written(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "public_reply")).all()
    )  # to the IT agent
    assert row.to_addr == agent.email and len(row.body_text) < 55_000


def test_a_message_over_the_size_limit_is_logged_with_its_sender(app, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_MESSAGE_BYTES", 100)
    entry = mail_inbound.ingest(load_eml("new_ticket_plain.eml"))
    assert entry.outcome == "refused" and "over MAIL_MAX_MESSAGE_BYTES" in entry.reason
    assert entry.from_addr == "nora@customer.test" and entry.subject == "Printer jams"
    assert entry.message_id == "<plain-1@customer.test>"


# --- Outlook replies and HTML tables ----------------------------------------------------------------


def test_an_outlook_html_reply_loses_the_quoted_header_block(ticket, alice):
    """Outlook on the web and new Outlook send HTML only: the answered mail follows
    <div id="divRplyFwdMsg"> with its From / Sent / To / Subject."""
    entry = mail_inbound.ingest(eml("reply_outlook_web_html.eml", ticket))
    assert entry.outcome == "reply"
    [message] = public_messages(ticket)
    assert message.body == "Outlook HTML answer: yes it works now."


def test_an_outlook_desktop_reply_loses_the_quoted_header_block(ticket, alice):
    """Outlook for Windows quotes with a bare "From: … Sent: … To: … Subject:" block, no separator line."""
    entry = mail_inbound.ingest(eml("reply_outlook_desktop.eml", ticket))
    assert entry.outcome == "reply"
    [message] = public_messages(ticket)
    assert message.body == "The printer prints again, thank you.\n\nAlice"


def test_an_html_table_keeps_its_cells_apart(ref):
    entry = mail_inbound.ingest(load_eml("new_ticket_html_table.eml"))
    assert entry.outcome == "new_ticket"
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert ticket.body == (
        "These printers fail:\nPrinter Floor Error\ncell A cell B E-12\nHP 4000 2 Paper jam\nThanks"
    )
