"""Property tests: any sequence of grants, charges, refunds and reversals keeps the ledger exact."""

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditAccount, LedgerEntry
from helpdesk.errors import InsufficientCredits
from helpdesk.extensions import db
from tests.credit_helpers import plan

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["purchase", "allowance", "charge", "refund", "adjustment", "reversal"]),
        st.integers(min_value=1, max_value=600),
    ),
    min_size=1,
    max_size=30,
)
_keys = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, floor=st.sampled_from([0, -200]))
def test_balance_equals_ledger_sum_and_only_reversals_cross_the_floor(make, ref, operations, floor):
    owner = make.customer()
    bank_plan = plan("Pay as you go")
    bank_plan.overdraft_floor = floor
    account = CreditAccount(user_id=owner.id, plan=bank_plan)
    db.session.add(account)
    db.session.commit()
    for kind, size in operations:
        amount = -size if kind in ("charge", "reversal") else size
        before = account.balance
        try:
            credits.post_entry(
                account.id,
                amount,
                kind,
                idempotency_key=f"prop:{next(_keys)}",
                allow_below_floor=kind == "reversal",
            )
            db.session.commit()
        except InsufficientCredits:
            db.session.rollback()
            assert kind == "charge" and before + amount < floor
            continue
        account = db.session.get(CreditAccount, account.id)
        if kind != "reversal":
            assert account.balance >= floor or amount > 0
        entries = db.session.scalars(select_entries(account)).all()
        assert account.balance == sum(e.amount for e in entries)
        assert entries[-1].balance_after == account.balance
    assert credits.ledger_mismatches() == []
    assert credits.running_balance_mismatches() == []


def select_entries(account):
    return db.select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.id)
