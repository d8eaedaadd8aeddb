"""The "Credits refunded" mail says why the credits came back, as the ticket's own system message
and the statement do: the response target missed, the resolution target missed (its share), the
ticket withdrawn before any reply, or merged into another ticket."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from helpdesk.credits import guarantee, submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets import lifecycle, merging
from tests.credit_helpers import bank
from tests.mail_support import written


@pytest.fixture
def desk(make, ref):
    it = ref.categories["IT"]
    agent = make.technician(it, name="Ivan IT", email="ivan@example.com")
    alice = make.customer(name="Alice", email="alice@example.com")
    bank("Business", 1000, user=alice)  # the Business plan carries the guarantee
    urgent = ref.priorities["Urgent"]
    urgent.resolution_minutes, urgent.resolution_refund_percent = 240, 50
    db.session.commit()
    return type("Desk", (), {"it": it, "agent": agent, "alice": alice, "ref": ref})


def _submit(desk, key, user=None, subject="Mail server down"):
    ticket, _ = submission.submit_ticket(
        user or desk.alice,
        subject=subject,
        body="Nobody can log in.",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Urgent"].id,
        submission_key=key,
    )
    db.session.commit()
    return ticket


def _later(minutes):
    return time_machine.travel(utcnow() + timedelta(minutes=minutes), tick=False)


def _refund_mail(ticket):
    [mail] = written(
        db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "sla_refund", OutboxMessage.ticket_id == ticket.id
            )
        ).all()
    )
    assert mail.subject == f"Credits refunded: [#{ticket.id}] {ticket.subject}"
    return mail


def test_a_withdrawn_ticket_s_mail_says_it_was_closed_before_any_reply(desk, make):
    bob = make.customer(name="Bob", email="bob@example.com")
    bank("Pay as you go", 500, user=bob)
    ticket = _submit(desk, "w", user=bob, subject="Need it fast")
    lifecycle.close_ticket(ticket, bob)
    db.session.commit()
    mail = _refund_mail(ticket)
    said = (
        f'Ticket #{ticket.id} "Need it fast" was closed before anyone answered it, so the 250 credits'
        " paid for its Urgent priority went back to your balance."
    )
    assert mail.to_addr == "bob@example.com" and said in mail.body_text
    assert "missed" not in mail.body_text and "missed" not in mail.body_html
    assert "was closed before anyone answered it" in mail.body_html


def test_a_missed_response_target_s_mail_says_so(desk):
    ticket = _submit(desk, "r")
    with _later(61):
        guarantee.sla_sweep()
        db.session.commit()
    mail = _refund_mail(ticket)
    assert (
        f'We missed the response target of ticket #{ticket.id} "Mail server down", so the 250 credits'
        " paid for its Urgent priority went back to your balance." in mail.body_text
    )


def test_a_missed_resolution_target_s_mail_says_which_share_came_back(desk):
    ticket = _submit(desk, "s")
    lifecycle.add_message(ticket, desk.agent, "Looking into it.")  # answered on time
    db.session.commit()
    with _later(241):
        guarantee.sla_sweep()
        db.session.commit()
    mail = _refund_mail(ticket)
    assert (
        f'We missed the resolution target of ticket #{ticket.id} "Mail server down", so 50% of the'
        " credits paid for its Urgent priority, 125 credits, went back to your balance." in mail.body_text
    )
    assert "response target" not in mail.body_text
    assert "50% of the credits paid for its Urgent priority, 125 credits" in mail.body_html


def test_a_merged_duplicate_s_mail_names_the_ticket_it_was_merged_into(desk):
    kept = _submit(desk, "kept", subject="Mail server down")
    lifecycle.add_message(kept, desk.agent, "Looking into it.")
    duplicate = _submit(desk, "dup", subject="Mail still down")
    db.session.commit()
    merging.merge(duplicate, kept, desk.agent)
    db.session.commit()
    mail = _refund_mail(duplicate)
    assert (
        f'Ticket #{duplicate.id} "Mail still down" was merged into #{kept.id} (the same request), so the'
        " 250 credits paid for its Urgent priority went back to your balance." in mail.body_text
    )
    assert "missed" not in mail.body_text


def test_an_agent_lowering_the_priority_mails_what_came_back(desk):
    from helpdesk.credits import quotes

    ticket = _submit(desk, "l")
    quotes.change_priority(ticket, desk.ref.priorities["High"], desk.agent)  # 250 paid, High is 150
    db.session.commit()
    mail = _refund_mail(ticket)
    expected = (
        f"The support team lowered ticket #{ticket.id} “Mail server down” from Urgent to High priority,"
        " so the 100 credits paid above High went back to your balance."
    )
    assert expected.replace("“", '"').replace("”", '"') in mail.body_text
    assert expected in mail.body_html
    assert mail.to_addr == "alice@example.com"
