"""Monthly allowances: one grant per bank and calendar month (UTC), under the plan's rollover cap.

Guarantees: a grant is keyed `allowance:<bank>:<YYYY-MM>`, so running `flask credits allowance`
twice (or from two machines) grants once; the grant is computed under the bank's row lock so that
at most `rollover_cap` credits carry over into the new period. A bank whose allowance is paid by a
card subscription (`allowance_invoiced`) is skipped by the monthly run and granted once per paid
invoice instead (`grant_invoice_allowance`, keyed `allowance:<bank>:invoice:<invoice>`).
"""

from datetime import UTC, datetime

from sqlalchemy import select

from helpdesk.credits.ledger import find_entry, lock_account, post_entry
from helpdesk.credits.models import KIND_ALLOWANCE, CreditAccount, ServicePlan
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


def allowance_amount(plan, balance):
    """The period's grant, so that at most `rollover_cap` credits carry over into the new period."""
    if plan.rollover_cap is None:
        return plan.monthly_allowance
    return min(plan.monthly_allowance, max(0, plan.rollover_cap + plan.monthly_allowance - balance))


def grant_allowance(account_id, period):
    """Grant one bank its allowance for `period` (YYYY-MM). Idempotent per bank and period."""
    key = f"allowance:{account_id}:{period}"
    if find_entry(key) is not None:
        return None
    account = lock_account(account_id)
    amount = allowance_amount(account.plan, account.balance)
    note = "" if amount == account.plan.monthly_allowance else " (reduced by the rollover cap)"
    entry, created = post_entry(
        account_id,
        amount,
        KIND_ALLOWANCE,
        idempotency_key=key,
        period=period,
        memo=f"Allowance {period}{note}",
    )
    return entry if created else None


def grant_invoice_allowance(account_id, plan, invoice_id, period):
    """Grant a bank `plan`'s allowance for one paid subscription invoice (the period it opens,
    YYYY-MM), under the plan's rollover cap. Idempotent per invoice; returns the entry or None."""
    key = f"allowance:{account_id}:invoice:{invoice_id}"
    if find_entry(key) is not None:
        return None
    account = lock_account(account_id)
    amount = allowance_amount(plan, account.balance)
    note = "" if amount == plan.monthly_allowance else " (reduced by the rollover cap)"
    entry, created = post_entry(
        account_id,
        amount,
        KIND_ALLOWANCE,
        idempotency_key=key[:200],
        period=period,
        memo=f"{plan.name} allowance {period}, subscription invoice {invoice_id}{note}",
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
