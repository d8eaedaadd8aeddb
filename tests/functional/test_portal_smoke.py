"""The customer portal's main journey through the test client."""

from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket


def test_customer_submits_and_sees_ticket(client, login, make, ref):
    alice = make.customer(email="alice@example.test")
    login(alice)
    page = client.get("/portal/tickets/new")
    assert page.status_code == 200
    assert b'<label for="subject">Subject</label>' in page.data
    response = client.post(
        "/portal/tickets/new",
        data={
            "category": ref.categories["IT"].id,
            "priority": ref.priorities["Normal"].id,
            "subject": "Printer on fire",
            "body": "It is **really** on fire",
            "submission_key": "k1",
        },
    )
    assert response.status_code == 302
    ticket = db.session.scalar(db.select(Ticket))
    assert ticket.subject == "Printer on fire" and ticket.requester_id == alice.id
    listing = client.get("/portal/tickets")
    assert b"Printer on fire" in listing.data
    detail = client.get(f"/portal/tickets/{ticket.id}")
    assert b"<strong>really</strong>" in detail.data
