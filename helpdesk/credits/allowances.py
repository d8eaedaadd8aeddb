"""Monthly allowances: one grant per bank and calendar month (UTC), under the plan's rollover cap.

Guarantees: a grant is keyed `allowance:<bank>:<YYYY-MM>`, so running `flask credits allowance`
twice (or from two machines) grants once; the grant is computed under the bank's row lock so that
at most `rollover_cap` credits of unused *allowance* carry over into the new period. Only allowance
counts: credits bought (packs, top-ups), sign-up grants, adjustments and refunds never expire and
never reduce an allowance (`unused_allowance`). A bank whose allowance is paid by a card
subscription (`allowance_invoiced`) is skipped by the monthly run and granted once per paid
invoice instead (`grant_invoice_allowance`, keyed `allowance:<bank>:invoice:<invoice>`).
"""

from datetime import UTC, datetime

from sqlalchemy import func, select

from helpdesk.credits.ledger import find_entry, lock_account, post_entry
from helpdesk.credits.models import KIND_ALLOWANCE, CreditAccount, LedgerEntry, ServicePlan
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db


def period_of(moment):
    return moment.astimezone(UTC).strftime("%Y-%m")


def next_allowance_date(account, now=None):
    """The first day of next month (UTC), when `flask credits allowance` grants again; None if none
    (or if the allowance comes with each subscription invoice instead)."""
    if account is None or not (account.plan.credits_enabled and account.plan.monthly_allowance > 0):
        return None
    if account.allowance_invoiced:
        return None
    now = (now or utcnow()).astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def unused_allowance(account_id):
    """The credits of the bank's balance that are allowance not yet spent.

    Spending takes allowance first (whatever leaves the bank: charges, reversals, negative
    adjustments), so as little as possible is left to expire; credits that come in otherwise
    (purchases, sign-up grants, refunds, adjustments) are never allowance. Never more than the
    balance, never below 0. Read from the ledger since the bank last stood at 0 or below (nothing
    was left then, of any kind)."""
    emptied = db.session.scalar(
        select(func.max(LedgerEntry.id)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.balance_after <= 0
        )
    )
    rows = db.session.execute(
        select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.balance_after)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.id > (emptied or 0))
        .order_by(LedgerEntry.id)
    )
    unused = 0
    for kind, amount, balance_after in rows:
        if kind == KIND_ALLOWANCE or amount < 0:
            unused = max(0, unused + amount)
        unused = min(unused, max(0, balance_after))
    return unused


def allowance_amount(plan, unused):
    """The period's grant: the plan's whole allowance, less the unused allowance above the rollover
    cap (which expires: at most `rollover_cap` allowance credits carry over). Never below 0."""
    if plan.rollover_cap is None:
        return plan.monthly_allowance
    expired = max(0, unused - plan.rollover_cap)
    return max(0, plan.monthly_allowance - expired)


def _grant_note(plan, amount):
    """What the statement says beside a grant smaller than the plan's allowance, and why."""
    if amount == plan.monthly_allowance:
        return ""
    return (
        f" ({plan.monthly_allowance:,} credits, less {plan.monthly_allowance - amount:,} unused allowance"
        f" above the rollover cap of {plan.rollover_cap:,}, which expired)"
    )


def grant_allowance(account_id, period):
    """Grant one bank its allowance for `period` (YYYY-MM). Idempotent per bank and period."""
    key = f"allowance:{account_id}:{period}"
    if find_entry(key) is not None:
        return None
    account = lock_account(account_id)
    amount = allowance_amount(account.plan, unused_allowance(account_id))
    entry, created = post_entry(
        account_id,
        amount,
        KIND_ALLOWANCE,
        idempotency_key=key,
        period=period,
        memo=f"Allowance {period}{_grant_note(account.plan, amount)}",
    )
    return entry if created else None


def grant_invoice_allowance(account_id, plan, invoice_id, period):
    """Grant a bank `plan`'s allowance for one paid subscription invoice (the period it opens,
    YYYY-MM): the whole allowance, less only unused allowance above the rollover cap (never for
    credits bought). Idempotent per invoice; returns the entry or None."""
    key = f"allowance:{account_id}:invoice:{invoice_id}"
    if find_entry(key) is not None:
        return None
    lock_account(account_id)
    amount = allowance_amount(plan, unused_allowance(account_id))
    entry, created = post_entry(
        account_id,
        amount,
        KIND_ALLOWANCE,
        idempotency_key=key[:200],
        period=period,
        memo=f"{plan.name} allowance {period}, subscription invoice {invoice_id}{_grant_note(plan, amount)}",
    )
    return entry if created else None


def set_allowance_invoiced(account, invoiced):
    """Say whether the bank's allowance comes with subscription invoices (and not the monthly run)."""
    account.allowance_invoiced = bool(invoiced)
    db.session.flush()


def allowance_accounts():
    """Banks the monthly run grants: on a plan with an allowance, not paid by a subscription."""
    return db.session.scalars(
        select(CreditAccount.id)
        .join(ServicePlan, ServicePlan.id == CreditAccount.plan_id)
        .where(
            ServicePlan.credits_enabled.is_(True),
            ServicePlan.monthly_allowance > 0,
            CreditAccount.allowance_invoiced.is_(False),
        )
        .order_by(CreditAccount.id)
    ).all()
