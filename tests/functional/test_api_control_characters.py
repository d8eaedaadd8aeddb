"""Control characters in JSON bodies are removed as the pages' forms remove them (web.clean_text):
PostgreSQL answered a 500 for a NUL in any text, SQLite stored it. Run on both databases."""

from helpdesk.accounts.models import Organization, User
from helpdesk.credits.models import LedgerEntry
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket

from ..credit_helpers import bank
from .api_support import bearer, is_problem

NUL, BELL, ESCAPE = "\u0000", "\u0007", "\u001b"


def test_a_ticket_s_texts_are_cleaned_as_the_portal_s_form_cleans_them(client, desk):
    data = {
        "subject": f"Mail{NUL} is{BELL} down",
        "body": f"Since{ESCAPE} 9:00.\n\tThe\r\nlog{NUL} says nothing.",
        "category_id": desk.it.id,
        "priority_id": desk.ref.priorities["Normal"].id,
    }
    made = client.post("/api/v1/tickets", json=data, headers=bearer(desk.requester))
    assert made.status_code == 201
    ticket = db.session.get(Ticket, made.get_json()["ticket"]["id"])
    assert ticket.subject == "Mail is down"
    assert ticket.body == "Since 9:00.\n\tThe\r\nlog says nothing."  # tab and newlines stay


def test_a_message_a_tag_and_an_agent_s_customer_are_cleaned(client, desk):
    agent = bearer(desk.tech_it)
    reply = client.post(
        f"/api/v1/tickets/{desk.it_ticket.id}/messages", json={"body": f"a{NUL}b"}, headers=agent
    )
    assert reply.status_code == 201 and reply.get_json()["message"]["body"] == "ab"
    assert db.session.get(Message, reply.get_json()["message"]["id"]).body == "ab"

    tagged = client.patch(
        f"/api/v1/tickets/{desk.it_ticket.id}",
        json={"tags": [f"vpn{NUL}", f"{NUL}"]},
        headers=agent | {"If-Match": "*"},
    )
    assert tagged.status_code == 200 and tagged.get_json()["tags"] == ["vpn"]

    for_alice = client.post(
        "/api/v1/tickets",
        json={
            "customer_email": f"alice{NUL}@example.com",
            "subject": "Called",
            "body": "x",
            "category_id": desk.it.id,
            "priority_id": desk.ref.priorities["Normal"].id,
        },
        headers=agent,
    )
    assert (
        for_alice.status_code == 201 and for_alice.get_json()["ticket"]["requester"]["name"] == "Alice Archer"
    )


def test_a_text_of_control_characters_only_is_refused_as_empty(client, desk):
    data = {
        "subject": NUL * 3,
        "body": "x",
        "category_id": desk.it.id,
        "priority_id": desk.ref.priorities["Normal"].id,
    }
    refused = client.post("/api/v1/tickets", json=data, headers=bearer(desk.requester))
    assert is_problem(refused, 422) and {e["field"] for e in refused.get_json()["errors"]} == {"subject"}
    assert db.session.scalar(db.select(db.func.count(Ticket.id)).where(Ticket.body == "x")) == 0


def test_articles_people_organizations_and_adjustments_are_cleaned(client, desk):
    article = client.post(
        "/api/v1/kb/articles",
        json={
            "category_id": desk.it.id,
            "title": f"VPN{NUL} set-up",
            "body": f"Install{NUL}.",
            "tags": [f"v{NUL}pn"],
        },
        headers=bearer(desk.tech_it),
    )
    assert article.status_code == 201
    made = article.get_json()["article"]
    assert (made["title"], made["body"], made["tags"]) == ("VPN set-up", "Install.", ["vpn"])

    admin = bearer(desk.admin)
    nameless = client.post("/api/v1/organizations", json={"name": NUL}, headers=admin)
    assert is_problem(nameless, 422) and nameless.get_json()["errors"][0]["field"] == "name"
    organization = client.post("/api/v1/organizations", json={"name": f"Ini{NUL}tech"}, headers=admin)
    assert organization.status_code == 201
    assert db.session.scalar(db.select(Organization.name).where(Organization.name.like("Ini%"))) == "Initech"

    person = client.post(
        "/api/v1/users", json={"email": f"{NUL}dora@example.com", "name": f"Dora{BELL}"}, headers=admin
    )
    assert person.status_code == 201
    assert db.session.scalar(db.select(User.name).where(User.email == "dora@example.com")) == "Dora"

    account = bank("Business", 100, user=desk.requester)
    adjusted = client.post(
        f"/api/v1/credits/banks/{account.id}/adjustments",
        json={"amount": 5, "reason": f"Good{NUL}will"},
        headers=admin,
    )
    assert adjusted.status_code == 201
    entry = db.session.get(LedgerEntry, adjusted.get_json()["entry"]["id"])
    assert NUL not in (entry.memo or "") and "Goodwill" in (entry.memo or "")


def test_a_field_name_with_a_control_character_is_the_field(client, desk):
    data = {
        f"sub{NUL}ject": "Printer",
        "body": "x",
        "category_id": desk.it.id,
        "priority_id": desk.ref.priorities["Normal"].id,
    }
    made = client.post("/api/v1/tickets", json=data, headers=bearer(desk.requester))
    assert made.status_code == 201 and made.get_json()["ticket"]["subject"] == "Printer"
