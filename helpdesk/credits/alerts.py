"""Low-balance stages and credit alerts: once per crossing, re-armed by credits coming in.

Guarantees of this module:
- a debit that takes a bank to or below one or more of its plan's thresholds records exactly one
  alert (the most severe stage reached); further debits in the same stage record nothing;
- credits coming in re-arm every threshold the balance is above again;
- alerts are rows (CreditAlert) read by the portal banner, the agent's ticket alert and the admin
  list; their mail is queued in the same transaction as the row (so exactly once per alert, and
  never for a change that rolls back), and `notified_at` records when it was queued.
"""

from sqlalchemy import func, select

from helpdesk import events
from helpdesk.accounts import users
from helpdesk.accounts.models import User
from helpdesk.credits.models import (
    ALERT_LOW_BALANCE,
    ALERT_SLA_REFUND,
    ALERT_UNBILLED_TIME,
    THRESHOLD_CHEAPEST_PAID,
    THRESHOLD_TOPUP_PERCENT,
    CreditAlert,
)
from helpdesk.extensions import db


def cheapest_paid_cost(plan):
    costs = [p.credit_cost for p in plan.priorities if p.credit_cost > 0]
    return min(costs) if costs else 0


def threshold_values(account):
    """[(position, credits, label)] of the bank's plan thresholds, in the plan's order."""
    values = []
    for t in account.plan.thresholds:
        if t.basis == THRESHOLD_TOPUP_PERCENT:
            amount = account.last_topup * t.value // 100
            label = f"{t.value}% of the last top-up"  # read by the bank's people and by the admins
        elif t.basis == THRESHOLD_CHEAPEST_PAID:
            amount = cheapest_paid_cost(account.plan)
            label = "the cost of the cheapest paid priority"
        else:
            amount = t.value
            label = "zero" if t.value == 0 else f"{t.value} credits"
        values.append((t.position, amount, label))
    return values


def stage_of(account, balance):
    """How many thresholds `balance` is at or below (0: not low)."""
    return sum(1 for _pos, amount, _label in threshold_values(account) if balance <= amount)


def after_balance_change(account, old_balance, entry):
    """Called by post_entry for every entry: records a crossing or re-arms the thresholds."""
    if not account.plan.credits_enabled or not account.plan.thresholds:
        return None
    stage = stage_of(account, account.balance)
    if entry.amount >= 0:
        account.low_stage = min(account.low_stage, stage)  # a top-up re-arms what it lifts us above
        return None
    if stage <= account.low_stage:
        return None
    account.low_stage = stage
    crossed = [
        (amount, label) for _p, amount, label in threshold_values(account) if account.balance <= amount
    ]
    amount, label = min(crossed)
    text = f"Low credit balance: {account.balance:,} credits left (at or below {label}, {amount:,} credits)."
    alert = CreditAlert(
        account_id=account.id,
        kind=ALERT_LOW_BALANCE,
        level=stage,
        threshold=amount,
        balance=account.balance,
        ticket_id=entry.ticket_id,
        text=text,
    )
    db.session.add(alert)
    db.session.flush()
    events.credit_alert_raised.send(alert=alert, label=label)
    return alert


def record_alert(account, kind, text, ticket=None):
    """Record an alert for people to act on (unbilled time, SLA refund).

    Unbilled time is mailed to the admins at once; an SLA refund is the customer's news, mailed by
    the guarantee (credit_sla), and waits in the admin list.
    """
    if kind not in (ALERT_UNBILLED_TIME, ALERT_SLA_REFUND):
        raise ValueError(kind)
    alert = CreditAlert(
        account_id=account.id,
        kind=kind,
        balance=account.balance,
        ticket_id=ticket.id if ticket is not None else None,
        text=text[:500],
    )
    db.session.add(alert)
    db.session.flush()
    events.credit_alert_raised.send(alert=alert, label=None)
    return alert


def open_unbilled_alert(ticket_id):
    """The ticket's unbilled-time alert that no admin has acknowledged yet, or None."""
    return db.session.scalar(
        select(CreditAlert)
        .where(
            CreditAlert.ticket_id == ticket_id,
            CreditAlert.kind == ALERT_UNBILLED_TIME,
            CreditAlert.acknowledged.is_(False),
        )
        .order_by(CreditAlert.id.desc())
        .limit(1)
    )


def current_low_alert(account):
    """The latest low-balance alert of a bank that is still low, else None."""
    if account is None or account.low_stage <= 0:
        return None
    return db.session.scalar(
        select(CreditAlert)
        .where(CreditAlert.account_id == account.id, CreditAlert.kind == ALERT_LOW_BALANCE)
        .order_by(CreditAlert.id.desc())
        .limit(1)
    )


def open_alerts_query():
    """Alerts no admin has acknowledged yet, newest first."""
    return select(CreditAlert).where(CreditAlert.acknowledged.is_(False)).order_by(CreditAlert.id.desc())


def open_alert_count_query():
    return select(func.count(CreditAlert.id)).where(CreditAlert.acknowledged.is_(False))


def open_alert_count():
    return db.session.scalar(open_alert_count_query())


def acknowledge(alert):
    alert.acknowledged = True
    db.session.flush()


def bank_users(account):
    """The people who spend from a bank (its user, or the organization's members)."""
    if account.user_id:
        return [account.user]
    return db.session.scalars(select(User).where(User.organization_id == account.organization_id)).all()


def alert_recipients(alert):
    """Who is told of an alert: the bank's customer, or the organization's managers; and admins."""
    account = alert.account
    if account.user_id:
        customers = [account.user]
    else:
        customers = [u for u in bank_users(account) if u.is_org_manager]
    return {"customers": [u for u in customers if u.active], "admins": list(users.active_admins())}
