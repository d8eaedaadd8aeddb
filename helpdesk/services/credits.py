"""The credit bank: the only place balances change, always with a ledger entry, under a row lock.

Guarantees of this module:
- every balance change is one append-only LedgerEntry in the caller's transaction, and the
  account's stored balance equals the sum of its entries;
- an idempotency key is unique: posting the same key twice returns the first entry, changes nothing;
- a debit never takes a balance below the plan's overdraft floor, except a reversal of
  purchased credits (a card refund or dispute), which may put the bank in debt.
"""

from sqlalchemy import func, select

from ..errors import InsufficientCredits
from ..extensions import db
from ..models import CreditAccount, LedgerEntry
from ..models.credits import KIND_REVERSAL, LEDGER_KINDS


def find_entry(idempotency_key):
    return db.session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key))


def lock_account(account_id):
    """The account row, locked until the transaction ends (FOR UPDATE on PostgreSQL).

    On SQLite, writers already hold the database's write lock from BEGIN IMMEDIATE.
    """
    # Lock with a column-only SELECT: the entity's eager outer joins cannot be locked on PostgreSQL.
    db.session.execute(select(CreditAccount.id).where(CreditAccount.id == account_id).with_for_update()).one()
    return db.session.get(CreditAccount, account_id, populate_existing=True)


def floor_of(account):
    return account.plan.overdraft_floor if account.plan else 0


def post_entry(
    account_id,
    amount,
    kind,
    *,
    idempotency_key,
    actor=None,
    ticket=None,
    payment_ref=None,
    period=None,
    memo="",
    allow_below_floor=False,
):
    """Append one entry and move the balance. Returns (entry, created).

    Raises InsufficientCredits (with the shortfall) when a debit would cross the floor, unless
    `allow_below_floor` (reversals of purchases only). Idempotent on `idempotency_key`.
    """
    if kind not in LEDGER_KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("credit amounts are integers")
    existing = find_entry(idempotency_key)
    if existing is not None:
        return existing, False
    account = lock_account(account_id)
    existing = find_entry(idempotency_key)  # a twin may have committed while we waited for the lock
    if existing is not None:
        return existing, False
    new_balance = account.balance + amount
    if amount < 0 and new_balance < floor_of(account) and not (allow_below_floor and kind == KIND_REVERSAL):
        raise InsufficientCredits(
            f"Not enough credits: this needs {-amount}, the balance is {account.balance}"
            f" (short by {floor_of(account) - new_balance})."
        )
    account.balance = new_balance
    entry = LedgerEntry(
        account_id=account.id,
        amount=amount,
        kind=kind,
        balance_after=new_balance,
        ticket_id=ticket.id if ticket is not None else None,
        payment_ref=payment_ref,
        period=period,
        actor_id=actor.id if actor is not None else None,
        memo=memo[:500],
        idempotency_key=idempotency_key,
    )
    db.session.add(entry)
    db.session.flush()
    return entry, True


def ledger_mismatches():
    """Accounts whose stored balance differs from the sum of their entries: [(id, stored, summed)]."""
    sums = (
        select(LedgerEntry.account_id, func.coalesce(func.sum(LedgerEntry.amount), 0).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    rows = db.session.execute(
        select(CreditAccount.id, CreditAccount.balance, func.coalesce(sums.c.total, 0)).outerjoin(
            sums, sums.c.account_id == CreditAccount.id
        )
    ).all()
    return [(account_id, stored, int(total)) for account_id, stored, total in rows if stored != int(total)]
