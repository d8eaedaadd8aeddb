"""Fixtures shared by the functional tests."""

from types import SimpleNamespace

import pytest


@pytest.fixture
def desk(make, ref):
    """Admin, an IT (and Billing) technician, a Sales technician, a requester, a subscriber, an unrelated customer;
    one IT ticket (followed by the subscriber) and one Sales ticket."""
    it, sales = ref.categories["IT"], ref.categories["Sales"]
    normal = ref.priorities["Normal"]
    people = SimpleNamespace(
        admin=make.admin(name="Ada Admin", email="ada@example.com"),
        tech_it=make.technician(it, ref.categories["Billing"], name="Ivan IT", email="ivan@example.com"),
        tech_sales=make.technician(sales, name="Sara Sales", email="sara@example.com"),
        requester=make.customer(name="Alice Archer", email="alice@example.com"),
        subscriber=make.customer(name="Sam Sub", email="sam@example.com"),
        customer=make.customer(name="Carl Customer", email="carl@example.com"),
    )
    it_ticket = make.ticket(subject="VPN drops", requester=people.requester, category=it, priority=normal)
    sales_ticket = make.ticket(
        subject="Quote please", requester=people.requester, category=sales, priority=normal
    )
    make.subscribe(it_ticket, people.subscriber)
    return SimpleNamespace(
        **vars(people), it=it, sales=sales, ref=ref, it_ticket=it_ticket, sales_ticket=sales_ticket
    )


@pytest.fixture
def ada(make, login):
    """Ada, an admin, signed in with the test's client."""
    admin = make.admin(name="Ada Admin", email="ada@example.test")
    login(admin)
    return admin


@pytest.fixture
def bob_client(make, login, app):
    """A second admin, Bob, in his own browser."""
    return login(make.admin(name="Bob Admin", email="bob@example.test"), as_client=app.test_client())
