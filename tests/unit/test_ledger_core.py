"""The ledger core: entries move balances, idempotently, never below the floor."""

import pytest

from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditAccount, ServicePlan
from helpdesk.errors import InsufficientCredits
from helpdesk.extensions import db


@pytest.fixture
def account(make):
    plan = ServicePlan(name="Test plan", credits_enabled=True)
    user = make.customer()
    acct = CreditAccount(user_id=user.id, plan=plan)
    db.session.add(acct)
    db.session.commit()
    return acct


def test_entries_move_balance_and_match_the_sum(account):
    credits.post_entry(account.id, 1000, "purchase", idempotency_key="p1")
    credits.post_entry(account.id, -250, "charge", idempotency_key="c1")
    db.session.commit()
    assert account.balance == 750
    assert credits.ledger_mismatches() == []


def test_same_idempotency_key_posts_once(account):
    first, created = credits.post_entry(account.id, 500, "purchase", idempotency_key="same")
    second, created_again = credits.post_entry(account.id, 500, "purchase", idempotency_key="same")
    db.session.commit()
    assert created and not created_again and first.id == second.id
    assert account.balance == 500


def test_debit_below_floor_is_refused_and_changes_nothing(account):
    credits.post_entry(account.id, 100, "purchase", idempotency_key="p")
    db.session.commit()
    with pytest.raises(InsufficientCredits, match="short by 150"):
        credits.post_entry(account.id, -250, "charge", idempotency_key="c")
    db.session.rollback()
    assert db.session.get(CreditAccount, account.id).balance == 100


def test_only_a_reversal_may_go_into_debt(account):
    credits.post_entry(account.id, 100, "purchase", idempotency_key="p")
    credits.post_entry(account.id, -300, "reversal", idempotency_key="r", allow_below_floor=True)
    db.session.commit()
    assert account.balance == -200
    with pytest.raises(InsufficientCredits):
        credits.post_entry(account.id, -1, "charge", idempotency_key="c", allow_below_floor=True)
