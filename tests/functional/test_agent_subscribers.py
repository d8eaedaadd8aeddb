"""Subscribers on the agent ticket page: add by e-mail (inviting new people), remove, and who may not."""

import pytest

from helpdesk import policy
from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.tickets.models import Subscription, TicketEvent

from .agent_support import HTMX, fresh


def add(client, ticket_id, email):
    return client.post(
        f"/agent/tickets/{ticket_id}/subscribers", data={"subscriber-email": email}, headers=HTMX
    )


def events(field):
    return db.session.scalars(db.select(TicketEvent).where(TicketEvent.field == field)).all()


def test_adding_an_existing_customer(client, login, desk):
    login(desk.tech_it)
    response = add(client, desk.it_ticket.id, "Carl@Example.com ")
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"carl@example.com now follows this ticket." in response.data
    assert b"Carl Customer &lt;carl@example.com&gt;" in response.data
    assert [e.new_value for e in events("subscriber added")] == ["carl@example.com"]
    assert events("invitation sent") == []  # they have an account already
    assert policy.can_view_ticket(desk.customer, fresh(desk.it_ticket.id))


def test_adding_a_new_address_creates_an_invited_customer(client, login, desk):
    login(desk.tech_it)
    add(client, desk.it_ticket.id, "newbie@example.com")
    user = db.session.scalar(db.select(User).where(User.email == "newbie@example.com"))
    assert user.role == "customer" and user.password_hash is None and user.active
    assert [e.new_value for e in events("invitation sent")] == ["newbie@example.com"]
    assert policy.can_view_ticket(user, fresh(desk.it_ticket.id))
    assert not policy.can_view_ticket(user, desk.sales_ticket)  # only what they follow


def test_adding_twice_changes_nothing(client, login, desk):
    login(desk.tech_it)
    response = add(client, desk.it_ticket.id, "sam@example.com")
    assert b"sam@example.com already follows this ticket." in response.data
    assert db.session.scalar(db.select(db.func.count(Subscription.id))) == 1


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("tech_sales", "is an agent: agents follow tickets through their categories"),
        ("admin", "is an agent"),
        ("requester", "is the requester and already receives every reply."),
    ],
)
def test_agents_and_the_requester_cannot_subscribe(client, login, desk, who, message):
    login(desk.tech_it)
    response = add(client, desk.it_ticket.id, getattr(desk, who).email)
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Subscription.id))) == 1


def test_deactivated_user_cannot_subscribe(client, login, desk):
    desk.customer.active = False
    db.session.commit()
    login(desk.tech_it)
    assert b"carl@example.com is deactivated." in add(client, desk.it_ticket.id, "carl@example.com").data


def test_invalid_address_is_refused(client, login, desk):
    login(desk.tech_it)
    response = add(client, desk.it_ticket.id, "not-an-address")
    assert b"E-mail: enter an address like name@example.com." in response.data
    assert db.session.scalar(db.select(db.func.count(User.id))) == 6


def test_remove_subscriber(client, login, desk):
    login(desk.tech_it)
    response = client.post(
        f"/agent/tickets/{desk.it_ticket.id}/subscribers/{desk.subscriber.id}/remove",
        data={"confirmed_action": "yes"},
        headers=HTMX,
    )
    assert b"Subscriber removed." in response.data and b"Nobody follows this ticket yet." in response.data
    assert [e.old_value for e in events("subscriber removed")] == ["sam@example.com"]
    assert not policy.can_view_ticket(desk.subscriber, fresh(desk.it_ticket.id))


def test_subscriber_replies_publicly_through_the_portal(client, login, desk):
    login(desk.subscriber)
    response = client.post(f"/portal/tickets/{desk.it_ticket.id}/reply", data={"body": "Same for me"})
    assert response.status_code == 302
    assert [m.internal for m in fresh(desk.it_ticket.id).messages] == [False]


def test_a_ticket_takes_at_most_fifty_subscribers_and_the_address_typed_stays(client, login, desk, make):
    from helpdesk.tickets.subscribers import SUBSCRIBERS_MAX

    for n in range(SUBSCRIBERS_MAX - 1):  # the desk's ticket has Sam already
        make.subscribe(desk.it_ticket, make.customer(email=f"follower{n}@example.com"))
    db.session.commit()
    login(desk.tech_it)
    response = add(client, desk.it_ticket.id, "one.more@example.com")
    page = response.get_data(as_text=True)
    assert (
        "This ticket has 50 subscribers, the most it can have: remove one before adding one.more@example.com."
        in page
    )
    assert 'value="one.more@example.com"' in page  # the address typed is kept in the field
    assert db.session.scalar(db.select(db.func.count(Subscription.id))) == SUBSCRIBERS_MAX
    assert db.session.scalar(db.select(User.id).where(User.email == "one.more@example.com")) is None
    # someone already subscribed is still "added" (nothing changes), and one leaving makes room
    assert add(client, desk.it_ticket.id, "sam@example.com").status_code == 200
    client.post(
        f"/agent/tickets/{desk.it_ticket.id}/subscribers/{desk.subscriber.id}/remove",
        data={"confirmed_action": "yes"},
        headers=HTMX,
    )
    add(client, desk.it_ticket.id, "one.more@example.com")
    assert db.session.scalar(db.select(User.id).where(User.email == "one.more@example.com")) is not None
