"""Mail over MAIL_MAX_MESSAGE_BYTES: refused unread, and the proven sender told once an hour (with
the sizes and where to send the files instead); forged, unproven, machine and our own mail never."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from helpdesk.branding.models import DeskSettings
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail import too_large
from helpdesk.mail.compose import build_email
from helpdesk.mail.models import InboundMail, OutboxMessage
from helpdesk.mail.tokens import reply_address, thread_root_id
from helpdesk.tickets.models import Ticket
from tests.mail_support import (
    TRUSTED_MTA,
    load_eml,
    printer_ticket,
    renamed,
    with_auth_results,
    with_headers,
    written,
)

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def one_mb_limit(app, monkeypatch):
    """Mail over 1 MB is refused; our MTA's Authentication-Results are trusted."""
    monkeypatch.setitem(app.config, "MAIL_MAX_MESSAGE_BYTES", MB)
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", TRUSTED_MTA)


@pytest.fixture
def alice(make):
    return make.customer(email="alice@example.test", name="Alice Archer")


@pytest.fixture
def ticket(ref, alice):
    return printer_ticket(alice, ref)


def oversized(raw, size=3 * MB // 2 - 1000):
    """The message grown to `size` bytes (1.5 MB by default) by a long body."""
    return raw + b"x" * (size - len(raw))


def proven_new_mail():
    """Nora's "Printer jams", DMARC passed at our MTA, 1.5 MB."""
    return oversized(with_auth_results(load_eml("new_ticket_plain.eml")))


def alice_reply(ticket):
    """Alice's reply to her ticket's mail, to her own reply address (proof enough without DMARC)."""
    raw = load_eml(
        "reply_plain.eml",
        ID=ticket.id,
        TOKEN=reply_address(ticket.id, ticket.requester.id),
        ROOT=thread_root_id(ticket.id),
    )
    return oversized(raw)


def notices():
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == too_large.KIND).order_by(OutboxMessage.id)
    ).all()
    return written(rows)


def path_of(text):
    """The path of the one link under our PUBLIC_URL in a mail's text."""
    [url] = [word for word in text.split() if word.startswith("http")]
    return urlsplit(url).path


def test_a_proven_sender_is_told_once_with_the_sizes_and_the_portals_new_ticket_page(
    client, login, make, ref
):
    db.session.add(DeskSettings(id=1, name="Acme Support"))
    db.session.commit()
    entry = mail_inbound.ingest(proven_new_mail())
    assert entry.outcome == "refused" and entry.raw is not None
    assert entry.reason.startswith("sender told by an automatic reply; message of 1,571,864 bytes")
    assert db.session.scalars(select(Ticket)).all() == []
    [row] = notices()
    assert row.to_addr == "nora@customer.test" and row.automatic and row.status == "queued"
    assert row.subject == "Not received (over 1 MB): Printer jams"
    text = " ".join(row.body_text.split())
    assert (
        'Your message "Printer jams" of 1.5 MB was not received: it is over the 1 MB a message that'
        " Acme Support accepts" in text
    )
    assert "smaller messages" in text and "links" in text and "up to 10 MB a file" in text
    assert "Hello," in row.body_text and "Acme Support. This message was sent automatically." in row.body_text
    assert path_of(row.body_text) == "/portal/tickets/new"
    mail = build_email(row)
    assert mail["Auto-Submitted"] == "auto-replied" and mail["From"].startswith("Acme Support <")
    login(make.customer(email="nora@customer.test", name="Nora Newton"))
    assert client.get(path_of(row.body_text)).status_code == 200  # the link works once signed in


def test_a_reply_to_a_ticket_links_to_the_ticket_and_threads_with_it(client, login, ticket, alice):
    entry = mail_inbound.ingest(alice_reply(ticket))
    assert entry.outcome == "refused" and entry.reason.startswith("sender told")
    [row] = notices()
    assert row.to_addr == "alice@example.test" and row.ticket_id == ticket.id
    assert "Hello Alice Archer," in row.body_text
    assert f"nothing was added to ticket #{ticket.id}" in " ".join(row.body_text.split())
    assert path_of(row.body_text) == f"/portal/tickets/{ticket.id}"
    assert build_email(row)["Reply-To"] == reply_address(ticket.id, alice.id, row.created_at)
    assert f'href="http://127.0.0.1:5000/portal/tickets/{ticket.id}"' in row.body_html
    login(alice)
    page = client.get(path_of(row.body_text))
    assert page.status_code == 200 and "Printer on fire" in page.get_data(as_text=True)


def test_a_second_oversized_message_within_the_hour_gets_no_notice(ref):
    first = mail_inbound.ingest(proven_new_mail())
    second = mail_inbound.ingest(renamed(proven_new_mail(), 2))
    assert first.reason.startswith("sender told")
    assert second.outcome == "refused" and second.raw is not None
    assert second.reason.endswith("sender not told: a notice went to this address less than an hour ago")
    assert len(notices()) == 1
    later = mail_inbound.ingest(renamed(proven_new_mail(), 3), now=utcnow() + timedelta(minutes=61))
    assert later.reason.startswith("sender told") and len(notices()) == 2


def test_a_refusal_whose_notice_was_not_sent_does_not_count_against_the_hour(ref):
    unproven = oversized(load_eml("new_ticket_plain.eml"))
    assert "sender not told" in mail_inbound.ingest(unproven).reason
    assert mail_inbound.ingest(proven_new_mail()).reason.startswith("sender told")
    assert len(notices()) == 1


@pytest.mark.parametrize(
    ("make_raw", "why"),
    [
        (lambda t: oversized(load_eml("new_ticket_plain.eml")), "the sender is not proven: nothing proves"),
        (
            lambda t: oversized(with_auth_results(load_eml("new_ticket_plain.eml"), "dmarc=fail")),
            "the sender is not proven: DMARC failed",
        ),
        (
            lambda t: oversized(with_auth_results(load_eml("new_ticket_plain.eml"), authserv="mx.evil.test")),
            "the sender is not proven: nothing proves the sender (no Authentication-Results from",
        ),
        (
            lambda t: oversized(load_eml("forged_token.eml", ID=t.id)),
            "forged reply address for ticket #",
        ),
        (
            lambda t: oversized(
                with_auth_results(
                    with_headers(load_eml("new_ticket_plain.eml"), "Auto-Submitted: auto-replied")
                )
            ),
            "auto-reply (Auto-Submitted: auto-replied): automatic mail is never answered",
        ),
        (
            lambda t: oversized(
                with_auth_results(with_headers(load_eml("new_ticket_plain.eml"), "Precedence: bulk"))
            ),
            "list or bulk mail (Precedence: bulk): automatic mail is never answered",
        ),
        (
            lambda t: oversized(
                with_auth_results(
                    with_headers(load_eml("new_ticket_plain.eml"), "List-Id: <printers.customer.test>")
                )
            ),
            "mailing list (List-Id): automatic mail is never answered",
        ),
        (
            lambda t: oversized(
                with_auth_results(load_eml("new_ticket_plain.eml").replace(b"nora@", b"noreply@"))
            ),
            "a no-reply sender address: automatic mail is never answered",
        ),
        (
            lambda t: oversized(
                with_auth_results(load_eml("new_ticket_plain.eml").replace(b"nora@", b"MAILER-DAEMON@"))
            ),
            "bounce (sent by MAILER-DAEMON): automatic mail is never answered",
        ),
        (
            lambda t: oversized(with_auth_results(load_eml("from_ourselves.eml"))),
            "sent from our own address",
        ),
    ],
    ids=[
        "unproven",
        "dmarc-fail",
        "foreign-authserv",
        "forged-reply-address",
        "auto-submitted",
        "bulk",
        "list",
        "noreply",
        "mailer-daemon",
        "own-address",
    ],
)
def test_unproven_forged_automatic_and_own_mail_gets_no_notice(client, login, make, ticket, make_raw, why):
    entry = mail_inbound.ingest(make_raw(ticket))
    assert entry.outcome == "refused" and entry.raw is not None
    assert "over MAIL_MAX_MESSAGE_BYTES" in entry.reason and "sender not told: " in entry.reason
    assert why in entry.reason
    assert notices() == []
    login(make.admin())
    reason = entry.reason.replace("'", "&#39;").replace('"', "&#34;")
    assert "sender not told" in client.get("/admin/mail/inbound").get_data(as_text=True)
    assert reason in client.get(f"/admin/mail/inbound/{entry.id}").get_data(as_text=True)


def test_the_inbound_log_says_the_sender_was_told(client, login, make, ref):
    entry = mail_inbound.ingest(proven_new_mail())
    login(make.admin())
    listing = client.get("/admin/mail/inbound?outcome=").get_data(as_text=True)
    assert "sender told by an automatic reply; message of 1,571,864 bytes is over" in listing
    page = client.get(f"/admin/mail/inbound/{entry.id}").get_data(as_text=True)
    assert "sender told by an automatic reply" in page and "dmarc=pass" in page


def test_a_notice_that_cannot_be_written_leaves_the_refusal_logged(ref, monkeypatch):
    real_queue = too_large.queue

    def queue_then_fail(*args, **kwargs):
        real_queue(*args, **kwargs)
        db.session.flush()
        raise RuntimeError("template store unreachable")

    monkeypatch.setattr(too_large, "queue", queue_then_fail)
    raw = proven_new_mail()
    entry = mail_inbound.ingest(raw)
    db.session.expire_all()
    stored = db.session.get(InboundMail, entry.id)
    assert stored.outcome == "refused" and stored.raw == raw and stored.from_addr == "nora@customer.test"
    assert stored.reason.endswith(
        "sender not told: the notice could not be written (RuntimeError: template store unreachable)"
    )
    assert notices() == []  # the half-written notice went with its savepoint
