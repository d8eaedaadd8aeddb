"""What someone who only follows a ticket sees on the portal: not what its requester paid, and,
once it is closed, what they can do instead of reopening it."""

import html
import re

import pytest

from helpdesk.credits import submission
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
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


def _closed(acme):
    lifecycle.close_ticket(acme.ticket, acme.alice)
    db.session.commit()


CLOSED_FOR_FOLLOWERS = (
    "This ticket is closed, and only Alice Archer, who opened it, or a manager of Acme can reopen it:"
    " ask them to if you need more help."
)
BY_MAIL = "Or answer one of this ticket's e-mails: your answer opens a follow-up ticket, which you follow."


def test_a_follower_of_a_closed_ticket_is_told_who_can_reopen_it_and_about_the_follow_up(client, login, acme):
    _closed(acme)
    login(acme.dave)
    page = _page(client, acme.ticket)
    assert "Reopen it to reply" not in page and "Reopen ticket" not in page
    assert CLOSED_FOR_FOLLOWERS in _said(page) and BY_MAIL in _said(page)
    login(acme.alice)  # the requester reopens it herself
    page = _page(client, acme.ticket)
    assert "This ticket is closed. Reopen it to reply." in page and "Reopen ticket" in page
    assert "only Alice Archer" not in page and "e-mails" not in page


def test_a_follower_s_refused_reply_says_the_same_and_is_kept(client, login, acme):
    _closed(acme)
    login(acme.dave)
    refused = client.post(f"/portal/tickets/{acme.ticket.id}/reply", data={"body": "Still broken here."})
    page = " ".join(refused.get_data(as_text=True).split())
    assert "Reopen it to reply" not in page
    assert CLOSED_FOR_FOLLOWERS in _said(page) and BY_MAIL in _said(page)
    assert "Your reply (not sent)" in page and "Still broken here.</textarea>" in page


def test_no_follow_up_is_promised_when_the_requester_s_plan_has_no_free_priority(client, login, acme, ref):
    _closed(acme)
    for name in ("Low", "Normal"):
        ref.priorities[name].credit_cost = 10  # mail opens nothing at a price: no follow-up by mail
    db.session.commit()
    login(acme.outsider)
    page = _page(client, acme.ticket)
    assert CLOSED_FOR_FOLLOWERS in _said(page) and "e-mails" not in page


def test_a_follower_does_not_read_what_was_refunded_either(client, login, acme, make):
    """The refund's system message names the bank and the amount: for the requester and the
    manager whose bank it is, not for those who only follow the ticket (page and API)."""
    from tests.functional.api_support import bearer

    lifecycle.close_ticket(acme.ticket, acme.alice)  # before any reply: the charge comes back
    db.session.commit()
    refunded = "have been refunded"
    for follower in (acme.dave, acme.outsider):
        login(follower)
        assert refunded not in _page(client, acme.ticket)
        listed = client.get(f"/api/v1/tickets/{acme.ticket.id}/messages", headers=bearer(follower))
        assert listed.status_code == 200
        assert all(refunded not in m["body"] for m in listed.get_json()["items"])
        assert "Every hour." in _page(client, acme.ticket)  # the conversation itself is theirs
    for payer in (acme.alice, acme.carol):
        login(payer)
        assert refunded in _page(client, acme.ticket)
        listed = client.get(f"/api/v1/tickets/{acme.ticket.id}/messages", headers=bearer(payer))
        assert any(refunded in m["body"] for m in listed.get_json()["items"])
