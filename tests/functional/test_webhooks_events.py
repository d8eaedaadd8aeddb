"""Each credit and payment event becomes a webhook delivery in its cause's transaction: priority
paid, guarantee refunded, low balance, payment succeeded and refunded."""

import json
import uuid

import pytest
from sqlalchemy import select

from helpdesk.billing import charges
from helpdesk.credits import ledger, submission
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import Ticket
from helpdesk.webhooks.models import EVENT_TYPES, WebhookDelivery
from tests import billing_support
from tests.credit_helpers import bank
from tests.functional.api_support import bearer
from tests.functional.webhook_support import add_endpoint


@pytest.fixture
def desk(make, ref):
    admin = make.admin(email="ada@example.com")
    alice = make.customer(name="Alice", email="alice@example.com")
    endpoint = add_endpoint(admin, "https://hooks.example.com/in", events=list(EVENT_TYPES))
    db.session.commit()
    return type("Desk", (), {"ref": ref, "alice": alice, "endpoint": endpoint})


def _events(event_type):
    rows = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_type == event_type).order_by(WebhookDelivery.id)
    ).all()
    return [json.loads(row.body) for row in rows]


def _submit_paid(desk, account_user):
    ticket, _ = submission.submit_ticket(
        account_user,
        subject="Mail server down",
        body="Nobody can log in.",
        category_id=desk.ref.categories["IT"].id,
        priority_id=desk.ref.priorities["Urgent"].id,
        submission_key=uuid.uuid4().hex,
    )
    db.session.commit()
    return ticket


def test_a_paid_priority_is_priority_paid(desk):
    account = bank("Business", 1000, user=desk.alice)
    ticket = _submit_paid(desk, desk.alice)
    [event] = _events("priority.paid")
    obj = event["data"]["object"]
    assert obj["object"] == "priority_charge"
    assert (obj["ticket_id"], obj["credits"], obj["bank_id"], obj["balance_after"]) == (
        ticket.id,
        250,
        account.id,
        750,
    )
    [created] = _events("ticket.created")
    assert created["data"]["object"]["id"] == ticket.id and created["data"]["object"]["priority"] == "Urgent"


def test_a_withdrawn_paid_ticket_is_guarantee_refunded(make, desk):
    payg = make.customer(email="paula@example.com")
    bank("Pay as you go", 500, user=payg)
    ticket = _submit_paid(desk, payg)
    lifecycle.close_ticket(ticket, payg)
    db.session.commit()
    [event] = _events("guarantee.refunded")
    obj = event["data"]["object"]
    assert obj["object"] == "guarantee_refund" and obj["ticket_id"] == ticket.id and obj["credits"] == 250


def test_crossing_a_low_balance_stage_is_balance_low(desk):
    account = bank("Business", 1000, user=desk.alice)
    assert _events("balance.low") == []
    ledger.post_entry(account.id, -990, "adjustment", idempotency_key=f"test:{uuid.uuid4().hex}", memo="t")
    db.session.commit()
    events = _events("balance.low")
    assert events, "no low-balance event"
    obj = events[-1]["data"]["object"]
    assert obj["bank"]["id"] == account.id and obj["balance"] == 10 and obj["threshold"] >= 10


def test_a_credited_payment_is_payment_succeeded_and_a_refund_payment_refunded(desk):
    account = bank("Business", 0, user=desk.alice)
    pack = billing_support.pack()
    payment = billing_support.payment(account, pack, desk.alice, payment_intent_id="pi_test_1")
    charges.credit(payment)
    db.session.commit()
    [paid] = _events("payment.succeeded")
    obj = paid["data"]["object"]
    assert (obj["object"], obj["id"], obj["amount"], obj["currency"], obj["credits"]) == (
        "payment",
        payment.id,
        5000,
        "usd",
        500,
    )
    charges.on_charge_refunded({"id": "ch_1", "amount_refunded": 2000, "payment_intent": "pi_test_1"})
    db.session.commit()
    charges.on_charge_refunded({"id": "ch_1", "amount_refunded": 2000, "payment_intent": "pi_test_1"})
    db.session.commit()  # the same report again: nothing new refunded, no second event
    [refunded] = _events("payment.refunded")
    obj = refunded["data"]["object"]
    assert (
        obj["amount_refunded"] == 2000
        and obj["refunded_now"] == 2000
        and obj["status"] == "partially_refunded"
    )
    assert "stripe" not in json.dumps(refunded).lower()  # no provider ids or secrets in the body


# --- ticket.created of a paid ticket carries its charge ------------------------------------------


def _created_and_paid(ticket_id):
    """The ticket's ticket.created object and its priority.paid credits, checked to be one each, and
    ticket.created first (the order receivers get them)."""
    rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    mine = [
        (row.event_type, json.loads(row.body)["data"]["object"])
        for row in rows
        if row.event_type in ("ticket.created", "priority.paid")
    ]
    mine = [(kind, obj) for kind, obj in mine if ticket_id in (obj.get("id"), obj.get("ticket_id"))]
    [(first, created), (second, paid)] = mine
    assert (first, second) == ("ticket.created", "priority.paid")
    return created, paid["credits"]


def _acknowledgement(ticket_id, to_addr):
    [ack] = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.template == "ticket_ack",
            OutboxMessage.to_addr == to_addr,
        )
    ).all()
    return ack.context


def test_a_paid_ticket_opened_in_the_portal_is_created_with_what_it_paid(client, login, desk):
    bank("Business", 1000, user=desk.alice)
    login(desk.alice)
    answer = client.post(
        "/portal/tickets/new",
        data={
            "category": desk.ref.categories["IT"].id,
            "priority": desk.ref.priorities["High"].id,
            "subject": "Printer on fire",
            "body": "Smoke everywhere.",
            "submission_key": uuid.uuid4().hex,
        },
    )
    assert answer.status_code == 302
    ticket = db.session.scalar(select(Ticket).where(Ticket.subject == "Printer on fire"))
    created, paid = _created_and_paid(ticket.id)
    assert created["paid_credits"] == 150 == paid == ticket.paid_credits
    assert (created["priority"], created["body"]) == ("High", "Smoke everywhere.")
    ack = _acknowledgement(ticket.id, "alice@example.com")  # its promise is the priority's
    assert ack["priority"] == "High" and ack["reply_by"]


def test_a_paid_ticket_opened_through_the_api_is_created_with_what_it_paid(client, desk):
    bank("Business", 1000, user=desk.alice)
    answer = client.post(
        "/api/v1/tickets",
        json={
            "subject": "Mail server down",
            "body": "Nobody can log in.",
            "category_id": desk.ref.categories["IT"].id,
            "priority_id": desk.ref.priorities["Urgent"].id,
        },
        headers=bearer(desk.alice),
    )
    assert answer.status_code == 201 and answer.get_json()["credits_charged"] == 250
    created, paid = _created_and_paid(answer.get_json()["ticket"]["id"])
    assert created["paid_credits"] == 250 == paid
    assert created["version"] == answer.get_json()["ticket"]["version"]


def test_a_paid_ticket_an_agent_opens_for_a_customer_is_created_with_what_it_paid(client, make, desk):
    bank("Business", 1000, user=desk.alice)
    agent = make.technician(desk.ref.categories["IT"], email="ivan@example.com")
    answer = client.post(
        "/api/v1/tickets",
        json={
            "customer_email": "alice@example.com",
            "consent": True,
            "subject": "Called: VPN down",
            "body": "She cannot connect.",
            "category_id": desk.ref.categories["IT"].id,
            "priority_id": desk.ref.priorities["High"].id,
        },
        headers=bearer(agent),
    )
    assert answer.status_code == 201 and answer.get_json()["credits_charged"] == 150
    ticket_id = answer.get_json()["ticket"]["id"]
    created, paid = _created_and_paid(ticket_id)
    assert created["paid_credits"] == 150 == paid
    assert created["requester"]["email"] == "alice@example.com"
    assert _acknowledgement(ticket_id, "alice@example.com")["priority"] == "High"


def test_a_free_ticket_is_created_with_nothing_paid(desk):
    bank("Business", 1000, user=desk.alice)
    ticket, _ = submission.submit_ticket(
        desk.alice,
        subject="Question",
        body="How do I?",
        category_id=desk.ref.categories["IT"].id,
        priority_id=desk.ref.priorities["Low"].id,
        submission_key=uuid.uuid4().hex,
    )
    db.session.commit()
    [created] = _events("ticket.created")
    assert created["data"]["object"]["paid_credits"] == 0 and _events("priority.paid") == []
