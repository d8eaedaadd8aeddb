"""What someone who only follows a ticket sees on the portal: not what its requester paid."""

import html
import re

import pytest

from helpdesk.credits import submission
from helpdesk.extensions import db
from tests.credit_helpers import bank


@pytest.fixture
def acme(make, ref):
    """Acme's shared bank, Carol (manager), Alice (member, requester), Dave (member) and an
    outsider who both follow Alice's High ticket, paid from the shared bank."""
    org = make.OrganizationFactory(name="Acme")
    bank("Pay as you go", 1000, organization=org)
    carol = make.customer(
        organization=org, is_org_manager=True, name="Carol Carter", email="carol@example.com"
    )
    alice = make.customer(organization=org, name="Alice Archer", email="alice@example.com")
    dave = make.customer(organization=org, name="Dave Dunn", email="dave@example.com")
    outsider = make.customer(name="Newbie", email="newbie@example.org")
    ticket, _ = submission.submit_ticket(
        alice,
        subject="VPN drops",
        body="Every hour.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["High"].id,
        submission_key="vpn",
    )
    make.subscribe(ticket, dave)
    make.subscribe(ticket, outsider)
    db.session.commit()
    assert ticket.paid_credits > 0
    return type(
        "Acme", (), {"carol": carol, "alice": alice, "dave": dave, "outsider": outsider, "ticket": ticket}
    )


def _page(client, ticket):
    response = client.get(f"/portal/tickets/{ticket.id}")
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())


def _said(page):
    """The page's text as read: tags out, entities back."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def test_a_follower_does_not_see_what_the_requester_paid(client, login, acme):
    paid = f"{acme.ticket.paid_credits:,} credits"
    memo = f"for ticket #{acme.ticket.id}"
    for follower in (acme.dave, acme.outsider):
        login(follower)
        page = _page(client, acme.ticket)
        assert "You follow this ticket" in page
        assert "<dt>Paid</dt>" not in page and paid not in page and memo not in page
    for payer in (acme.alice, acme.carol):  # the requester, and the manager whose bank paid
        login(payer)
        page = _page(client, acme.ticket)
        assert f"<dt>Paid</dt> <dd>{paid}" in page and memo in page
