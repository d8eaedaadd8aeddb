"""Helpers for credit tests: seeded plans by name and banks with a given balance (through the ledger)."""

import uuid

from sqlalchemy import select

from helpdesk.credits import ledger as credits
from helpdesk.credits import submission
from helpdesk.credits.models import ServicePlan
from helpdesk.extensions import db


def plan(name):
    return db.session.scalar(select(ServicePlan).where(ServicePlan.name == name))


def bank(plan_name, balance=0, *, user=None, organization=None):
    """A bank on the named plan holding `balance` credits (one adjustment entry), committed."""
    account = credits.open_account(plan(plan_name), user=user, organization=organization)
    if balance != account.balance:
        credits.post_entry(
            account.id,
            balance - account.balance,
            "adjustment",
            idempotency_key=f"test:{uuid.uuid4().hex}",
            memo="Test opening balance",
        )
    db.session.commit()
    return account


def balance_of(account):
    db.session.expire_all()
    return db.session.get(type(account), account.id).balance


def urgent_ticket(customer, ref, key, subject="Down"):
    """An Urgent (paid) IT ticket of `customer`, submitted through the portal's service."""
    ticket, _ = submission.submit_ticket(
        customer,
        subject=subject,
        body="Help.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Urgent"].id,
        submission_key=key,
    )
    return ticket
