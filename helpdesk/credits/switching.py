"""Customers' own plan changes (/portal/plan): which plans they may pick, and the switch itself.

Guarantees:
- only self-service plans are offered, and only while the bank is on a self-service plan (a plan
  arranged with the desk, such as Business, is changed by an admin), so a customer can always
  undo a switch they made;
- a switch never changes the balance: it is one zero-amount "Plan changed" ledger entry naming
  the customer (the audit, on the bank's statement), written under the bank's row lock;
- a plan's sign-up grant is given at most once per bank, when it opens or at the first switch
  onto a plan that has one (the same key, `signup:<bank>`), so switching back and forth earns nothing;
- a shared bank's plan is changed only by its organization's manager (policy.can_change_plan);
- the submit form shows the priorities a plan lacks (locked_priorities) with the price they have
  on the self-service plans that offer them.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from helpdesk import policy
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import ledger as credits
from helpdesk.credits import quotes
from helpdesk.credits.models import KIND_SIGNUP, ServicePlan
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import is_row_id
from helpdesk.tickets import sla
from helpdesk.tickets.models import Priority


@dataclass(frozen=True)
class PlanOffer:
    """One self-service plan as the plan page shows it to one customer."""

    plan: ServicePlan
    current: bool
    grant: int  # credits a switch onto it would add now (its sign-up grant, if this bank never had one)

    @property
    def prices(self):
        """[(priority, credits per ticket)] of the plan's priorities, least urgent first."""
        return [(p, quotes.tariff(self.plan, p)) for p in self.plan.priorities]


@dataclass(frozen=True)
class SwitchResult:
    """What a switch did: the bank, the plan it left (None for a new bank) and the credits granted."""

    account: object
    old_plan: ServicePlan | None
    plan: ServicePlan
    granted: int


class AlreadyOnPlan(ValidationFailed):
    """The bank is on that plan already (a switch sent twice: a double click, Back and send)."""


def _signup_key(account):
    return f"signup:{account.id}"


def grant_due(account, plan):
    """The sign-up grant a switch of `account` (None: a new bank) onto `plan` would add now."""
    if not plan.credits_enabled or plan.signup_grant <= 0:
        return 0
    if account is not None and credits.find_entry(_signup_key(account)) is not None:
        return 0
    return plan.signup_grant


def switch_refusal(user, account=None):
    """Why `user` may not switch plans themselves (a message for them), or None when they may."""
    account = account if account is not None else credits.account_for(user)
    if not policy.can_buy_credits(user):
        return "Plans are chosen by customers."
    if not policy.can_change_plan(user, account):
        managers = [u.name for u in credit_alerts.bank_users(account) if u.is_org_manager and u.active]
        ask = f" (ask {', '.join(managers)})" if managers else ""
        return (
            f"Your tickets are paid from {account.owner_name}'s shared bank, and only the organization's"
            f" manager chooses its plan{ask}."
        )
    current = account.plan if account is not None else credits.default_plan()
    if current is not None and not current.self_service:
        return f"Your {current.name} plan was arranged with the help desk: contact support to change it."
    return None


def plan_offers(user):
    """(current plan, [PlanOffer]) : the self-service plans, the current one marked."""
    account = credits.account_for(user)
    current = account.plan if account is not None else credits.default_plan()
    offers = [
        PlanOffer(
            plan=plan, current=current is not None and plan.id == current.id, grant=grant_due(account, plan)
        )
        for plan in credits.self_service_plans()
    ]
    return current, offers


@dataclass(frozen=True)
class SwitchPreview:
    """What switching to `plan` would change, for the confirmation page."""

    current: ServicePlan | None
    plan: ServicePlan
    balance: int
    grant: int
    gained: tuple  # priorities the new plan offers that the current one does not
    lost: tuple  # and the other way round

    @property
    def credits_idle(self):
        """The bank keeps credits the new plan does not use (they wait for a plan that does)."""
        return self.balance > 0 and not self.plan.credits_enabled


def preview_switch(user, plan_id):
    """What a switch of `user`'s bank to the self-service plan `plan_id` would change, or None if
    that plan is not offered."""
    plan = db.session.get(ServicePlan, plan_id) if is_row_id(plan_id) else None
    if plan is None or not plan.self_service:
        return None
    account = credits.account_for(user)
    current = account.plan if account is not None else credits.default_plan()
    before = {p.id for p in current.priorities} if current is not None else set()
    after = {p.id for p in plan.priorities}
    return SwitchPreview(
        current=current,
        plan=plan,
        balance=account.balance if account is not None else 0,
        grant=grant_due(account, plan),
        gained=tuple(p for p in plan.priorities if p.id not in before),
        lost=tuple(p for p in (current.priorities if current is not None else ()) if p.id not in after),
    )


def switch_plan(actor, plan_id):
    """Put the bank `actor` spends from on the self-service plan `plan_id` (opening one if none).

    Raises NotAllowed (see switch_refusal) or ValidationFailed (not a self-service plan, or the
    current one). Returns a SwitchResult.
    """
    account = credits.account_for(actor)
    refusal = switch_refusal(actor, account)
    if refusal:
        raise NotAllowed(refusal)
    plan = db.session.get(ServicePlan, plan_id) if is_row_id(plan_id) else None
    if plan is None or not plan.self_service:
        raise ValidationFailed("Choose one of the plans offered.")
    if account is None:
        granted = grant_due(None, plan)
        account = credits.open_account(plan, user=actor, actor=actor)
        return SwitchResult(account=account, old_plan=None, plan=plan, granted=granted)
    account = credits.lock_account(account.id)  # one switch of a bank at a time
    db.session.refresh(account, ["plan_id", "plan"])
    if account.plan_id == plan.id:
        raise AlreadyOnPlan(f"You are already on the {plan.name} plan.")
    old_plan = account.plan
    credits.move_to_plan(account, plan, actor)
    granted = grant_due(account, plan)
    if granted:
        credits.post_entry(
            account.id,
            granted,
            KIND_SIGNUP,
            idempotency_key=_signup_key(account),
            actor=actor,
            memo=f"{plan.name} plan",
        )
    return SwitchResult(account=account, old_plan=old_plan, plan=plan, granted=granted)


@dataclass(frozen=True)
class LockedPriority:
    """A priority of the desk that the customer's plan does not offer: shown on the form with its
    price and target, and the self-service plans that offer it (none: ask the desk)."""

    priority: Priority
    price: int
    due_at: datetime
    plans: tuple = ()  # names of the self-service plans that offer it

    locked = True


def locked_priorities(user, *, category_id=None, now=None):
    """Every priority of the desk the user's plan does not offer, least urgent first, each with the
    price it has on the self-service plans that offer it and its response time on `category_id`."""
    now = now or utcnow()
    account = credits.account_for(user)
    plan = account.plan if account is not None else credits.default_plan()
    if plan is None:
        return []
    offered = {p.id for p in plan.priorities}
    sellers = credits.self_service_plans()
    locked = []
    for priority in db.session.scalars(select(Priority).order_by(Priority.sort_order)):
        if priority.id in offered:
            continue
        offering = [p for p in sellers if priority in p.priorities]
        prices = [quotes.tariff(p, priority) for p in offering] or [priority.credit_cost]
        locked.append(
            LockedPriority(
                priority=priority,
                price=min(prices),
                due_at=sla.first_response_due(priority, category_id, now),
                plans=tuple(p.name for p in offering),
            )
        )
    return locked
