"""End to end: an agent replies, the mail is delivered, the customer's client answers, the answer is on the ticket."""

from email.message import EmailMessage

import pytest

from helpdesk.credits import submission
from helpdesk.extensions import db
from helpdesk.mail import delivery as mail_delivery
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail.models import InboundMail
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets.models import Ticket
from tests.mail_support import running_smtp_server


@pytest.fixture
def smtp_server(app, monkeypatch):
    with running_smtp_server(app, monkeypatch) as handler:
        yield handler


def answer(received, sender, text):
    """What a mail client sends when its user presses Reply on `received`."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = received["Reply-To"] or received["From"]
    reply["Subject"] = "Re: " + received["Subject"]
    reply["Message-ID"] = "<answer-1@client.example.test>"
    reply["In-Reply-To"] = received["Message-ID"]
    reply["References"] = f"{received['References']} {received['Message-ID']}"
    quoted = "\n".join("> " + line for line in received.get_body(("plain",)).get_content().splitlines())
    reply.set_content(f"{text}\n\nOn Sunday, Help desk <support@helpdesk.example> wrote:\n{quoted}\n")
    return reply.as_bytes()


def test_agent_reply_mail_answered_by_customer_lands_on_ticket(app, client, login, make, ref, smtp_server):
    alice = make.customer(email="alice@example.test", name="Alice")
    agent = make.technician(ref.categories["IT"], email="ivan@example.test", name="Ivan")
    ticket, _ = submission.submit_ticket(
        alice,
        subject="VPN drops",
        body="Every 10 minutes.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    db.session.commit()
    mail_delivery.process_due()
    smtp_server.received.clear()

    tickets.add_message(ticket, agent, "Please update the client to 5.3.")
    tickets.set_status(ticket, agent, "waiting")
    db.session.commit()
    assert mail_delivery.process_due()["sent"] == 1
    [delivered] = smtp_server.received
    assert delivered["rcpt_tos"] == ["alice@example.test"]
    notification = delivered["message"]
    assert "Please update the client to 5.3." in notification.get_body(("plain",)).get_content()

    entry = mail_inbound.ingest(answer(notification, "Alice <alice@example.test>", "Updated, all good now."))
    assert entry.outcome == "reply"

    ticket = db.session.get(Ticket, ticket.id)
    last = ticket.messages[-1]
    assert last.author_id == alice.id and last.body == "Updated, all good now." and last.source == "email"
    assert ticket.status == "open"  # the customer answered: back with the agents
    assert mail_delivery.process_due()["sent"] == 1  # the agent hears about the answer
    assert smtp_server.received[-1]["rcpt_tos"] == ["ivan@example.test"]

    login(alice)
    page = client.get(f"/portal/tickets/{ticket.id}")
    assert page.data.count(b"Updated, all good now.") == 1  # the answer, without the quoted history
    assert page.data.count(b"Please update the client to 5.3.") == 1


def test_cli_ingest_reads_stdin_and_worker_once_delivers(app, make, ref, smtp_server):
    runner = app.test_cli_runner()
    raw = (
        b"From: Nora <nora@customer.test>\r\nTo: support@helpdesk.example\r\nSubject: Help via pipe\r\n"
        b"Message-ID: <pipe-1@customer.test>\r\n\r\nPiped in.\r\n"
    )
    result = runner.invoke(args=["mail", "ingest"], input=raw)
    assert result.exit_code == 0, result.output
    assert "new_ticket" in result.output
    entry = db.session.scalar(db.select(InboundMail))
    assert entry.outcome == "new_ticket"
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert [r["rcpt_tos"] for r in smtp_server.received] == [["nora@customer.test"]]
    assert "Help via pipe" in smtp_server.received[0]["message"]["Subject"]
