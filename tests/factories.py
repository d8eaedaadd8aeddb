"""factory_boy factories writing through the app's own session: they flush, never commit (a test
runs in a transaction rolled back at its end; the test client commits before each request)."""

from datetime import timedelta

import factory
from argon2 import PasswordHasher
from factory.alchemy import SQLAlchemyModelFactory

from helpdesk.accounts.models import (
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    ROLE_TECHNICIAN,
    CategoryPermission,
    Organization,
    User,
)
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Category, Message, Priority, Subscription, Ticket

PASSWORD = "correct-horse-battery"
# argon2id with the test config's parameters (tests/conftest.py): made once, verified in microseconds.
_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


def _session():
    return db.session  # looked up at each use: the test's session (see tests/conftest.py)


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = _session
        sqlalchemy_session_persistence = "flush"


class OrganizationFactory(Base):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    name = factory.Sequence(lambda n: f"User {n}")
    role = ROLE_CUSTOMER
    password_hash = _HASH


class CategoryFactory(Base):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class PriorityFactory(Base):
    class Meta:
        model = Priority

    name = factory.Sequence(lambda n: f"Priority {n}")
    sort_order = factory.Sequence(lambda n: n)
    response_minutes = 60


def customer(**kw):
    return UserFactory(role=ROLE_CUSTOMER, **kw)


def technician(*categories, **kw):
    user = UserFactory(role=ROLE_TECHNICIAN, **kw)
    for category in categories:
        db.session.add(CategoryPermission(user_id=user.id, category_id=category.id))
    db.session.flush()
    return user


def admin(**kw):
    return UserFactory(role=ROLE_ADMIN, **kw)


class TicketFactory(Base):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Ticket subject {n}")
    body = "Something is broken."
    requester = factory.SubFactory(UserFactory)
    organization_id = factory.LazyAttribute(lambda o: o.requester.organization_id)
    category = factory.SubFactory(CategoryFactory)
    priority = factory.SubFactory(PriorityFactory)
    status = "new"
    created_at = factory.LazyFunction(utcnow)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    due_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(minutes=o.priority.response_minutes))


def ticket(**kw):
    return TicketFactory(**kw)


def message(ticket_, author, body="A reply.", internal=False):
    item = Message(ticket=ticket_, author=author, body=body, internal=internal)
    db.session.add(item)
    db.session.flush()
    return item


def subscribe(ticket_, user):
    db.session.add(Subscription(ticket_id=ticket_.id, user_id=user.id))
    db.session.flush()
