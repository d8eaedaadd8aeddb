"""Admin edits of plans and priority tariffs, each field change recorded with its actor.

Guarantees: a tariff change affects only future charges (past charges are ledger amounts);
plan rules (floor <= 0, rate > 0, allowance and grant >= 0) are checked before anything is written;
every changed field leaves a CreditSettingChange naming the actor. The latest of those rows is
also what a form saw (`settings_version`): a save from a form opened before someone else's change
is refused (StaleSettings, naming the change), so two tabs cannot silently undo each other.
"""

import re

from sqlalchemy import func, select

from helpdesk.credits.models import (
    BILLING_PRIORITY,
    BILLING_TIME,
    THRESHOLD_CHEAPEST_PAID,
    THRESHOLD_FIXED,
    THRESHOLD_TOPUP_PERCENT,
    CreditSettingChange,
    LowBalanceThreshold,
    ServicePlan,
)
from helpdesk.errors import StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import lock_row

PLAN_FIELDS = (
    "name",
    "description",
    "credits_enabled",
    "signup_grant",
    "monthly_allowance",
    "rollover_cap",
    "billing_mode",
    "minute_rate",
    "overdraft_floor",
    "guarantee",
    "self_service",
)


def record_change(actor, subject, subject_id, field, old, new):
    """Record one changed setting (of a plan, a tariff, billing's packs...) with its actor: the
    trail, and the version a form of it carries (settings_version)."""
    db.session.add(
        CreditSettingChange(
            actor_id=actor.id if actor else None,
            subject=subject,
            subject_id=subject_id,
            field=field,
            old_value=None if old is None else str(old)[:400],
            new_value=None if new is None else str(new)[:400],
        )
    )


class TariffRefused(ValidationFailed):
    """A tariff rule said no; `field` names the form field it is about (its message goes there)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


class StaleSettings(StaleUpdate):
    """The form was opened before someone else saved the same plan, tariff or pack: nothing was saved.
    `changes` are the CreditSettingChange rows saved since, oldest first (the view names them)."""

    def __init__(self, changes):
        super().__init__("Someone else saved these settings after you opened the form: nothing was saved.")
        self.changes = changes


def settings_version(subject, subject_id):
    """The id of the latest recorded change of a plan, tariff or pack (0: none yet). A form carries it
    and hands it back, so a save can tell whether it still edits what the form showed."""
    return (
        db.session.scalar(
            select(func.max(CreditSettingChange.id)).where(
                CreditSettingChange.subject == subject, CreditSettingChange.subject_id == subject_id
            )
        )
        or 0
    )


def check_seen(row, subject, seen):
    """Lock the plan's, priority's or pack's row until commit (read afresh), then raise StaleSettings when
    a change was recorded after `seen` (the version the form was opened at). `seen` None (a form
    without it, e.g. a script's POST) is not checked."""
    lock_row(row)
    subject_id = row.id
    if seen is None or settings_version(subject, subject_id) <= seen:
        return
    changes = db.session.scalars(
        select(CreditSettingChange)
        .where(
            CreditSettingChange.subject == subject,
            CreditSettingChange.subject_id == subject_id,
            CreditSettingChange.id > seen,
        )
        .order_by(CreditSettingChange.id)
    ).all()
    raise StaleSettings(changes)


def record_plan_change(actor, plan, field, old, new):
    """Record one changed plan setting kept outside the plan's row (e.g. billing's subscription price)."""
    if old != new:
        record_change(actor, "plan", plan.id, field, old, new)
        db.session.flush()


def set_tariff(
    priority,
    actor,
    *,
    credit_cost,
    response_minutes,
    resolution_minutes=None,
    business_hours=True,
    resolution_refund_percent=0,
    seen=None,
):
    """Change a priority's price and targets (tickets opened from now on; past charges and due
    times stay). A resolution refund needs a resolution target. `seen`: the settings_version the
    form was opened at (StaleSettings when the tariff changed since)."""
    check_seen(priority, "tariff", seen)
    if credit_cost < 0:
        raise TariffRefused("credit_cost", "The price is 0 or more.")
    if response_minutes <= 0:
        raise TariffRefused("response_minutes", "The response target is at least 1 minute.")
    if resolution_minutes is not None and resolution_minutes < response_minutes:
        raise TariffRefused(
            "resolution_minutes", "The resolution target is at least as long as the response target."
        )
    if not 0 <= resolution_refund_percent <= 100:
        raise TariffRefused(
            "resolution_refund_percent", "The resolution refund is a share between 0 and 100 per cent."
        )
    if resolution_refund_percent and resolution_minutes is None:
        raise TariffRefused("resolution_refund_percent", "A resolution refund needs a resolution target.")
    changes = (
        ("credit_cost", credit_cost),
        ("response_minutes", response_minutes),
        ("resolution_minutes", resolution_minutes),
        ("business_hours", bool(business_hours)),
        ("resolution_refund_percent", resolution_refund_percent),
    )
    for field, value in changes:
        old = getattr(priority, field)
        if old != value:
            record_change(actor, "tariff", priority.id, field, old, value)
            setattr(priority, field, value)
    db.session.flush()


def parse_thresholds(text):
    """'25%, cheapest, 0' -> [(basis, value)]: a percentage of the last top-up, the cheapest paid
    priority, or a number of credits. Raises ValidationFailed on anything else."""
    stages = []
    for token in [t.strip().lower() for t in (text or "").split(",") if t.strip()]:
        if re.fullmatch(r"\d{1,3}%", token):
            stages.append((THRESHOLD_TOPUP_PERCENT, int(token[:-1])))
        elif token == "cheapest":
            stages.append((THRESHOLD_CHEAPEST_PAID, 0))
        elif re.fullmatch(r"\d{1,9}", token):
            stages.append((THRESHOLD_FIXED, int(token)))
        else:
            raise ValidationFailed(f"Not a threshold: {token!r}. Use e.g. 25%, cheapest, 0.")
    return stages


def format_thresholds(plan):
    parts = []
    for t in plan.thresholds:
        if t.basis == THRESHOLD_TOPUP_PERCENT:
            parts.append(f"{t.value}%")
        elif t.basis == THRESHOLD_CHEAPEST_PAID:
            parts.append("cheapest")
        else:
            parts.append(str(t.value))
    return ", ".join(parts)


def update_plan(plan, actor, *, priorities, thresholds, seen=None, **fields):
    """Apply an admin's edit of a plan: fields, offered priorities and low-balance stages.
    `seen`: the settings_version the form was opened at (StaleSettings when the plan changed since)."""
    check_seen(plan, "plan", seen)
    if fields.get("billing_mode") not in (BILLING_PRIORITY, BILLING_TIME):
        raise ValidationFailed("Choose a billing mode.")
    if fields["overdraft_floor"] > 0 or fields["minute_rate"] <= 0:
        raise ValidationFailed("The floor is 0 or below and the minute rate at least 1.")
    if min(fields["signup_grant"], fields["monthly_allowance"], fields["rollover_cap"] or 0) < 0:
        raise ValidationFailed("Grants, allowances and caps cannot be negative.")
    if not priorities:
        raise ValidationFailed("A plan offers at least one priority.")
    name = (fields.get("name") or "").strip()
    if not name:
        raise ValidationFailed("Give the plan a name.")
    fields["name"] = name
    if db.session.scalar(
        select(ServicePlan.id).where(func.lower(ServicePlan.name) == name.lower(), ServicePlan.id != plan.id)
    ):
        raise ValidationFailed(f"Another plan is already called “{name}”: choose another name.")
    stages = parse_thresholds(thresholds)
    for field in PLAN_FIELDS:
        old, new = getattr(plan, field), fields[field]
        if old != new:
            record_change(actor, "plan", plan.id, field, old, new)
            setattr(plan, field, new)
    old_names = ", ".join(p.name for p in plan.priorities)
    plan.priorities = sorted(priorities, key=lambda p: p.sort_order)
    new_names = ", ".join(p.name for p in plan.priorities)
    if old_names != new_names:
        record_change(actor, "plan", plan.id, "priorities", old_names, new_names)
    old_stages = format_thresholds(plan)
    if [(t.basis, t.value) for t in plan.thresholds] != stages:
        plan.thresholds = []
        db.session.flush()  # delete the old stages first: (plan, position) is unique
        plan.thresholds = [
            LowBalanceThreshold(position=i, basis=b, value=v) for i, (b, v) in enumerate(stages, start=1)
        ]
        db.session.flush()
        record_change(actor, "plan", plan.id, "thresholds", old_stages, format_thresholds(plan))
    db.session.flush()
    return plan


def open_bank(actor, plan, *, email=None, organization_name=None):
    """Open (or move) the bank of a customer by e-mail or an organization by name onto `plan`."""
    from sqlalchemy import select

    from helpdesk.accounts.auth import find_user_by_email
    from helpdesk.accounts.models import Organization
    from helpdesk.credits import ledger as credits

    if bool(email) == bool(organization_name):
        raise ValidationFailed("Give either a customer's e-mail or an organization's name.")
    if email:
        user = find_user_by_email(email)
        if user is None or not user.is_customer:
            raise ValidationFailed("No customer has this e-mail.")
        shared = credits.account_for(user)
        if shared is not None and shared.organization_id is not None:
            raise ValidationFailed(
                f"{user.name} belongs to {shared.owner_name}, whose shared bank pays for their "
                f"tickets: open or move {shared.owner_name}'s bank instead."
            )
        owner = {"user": user}
    else:
        org = db.session.scalar(select(Organization).where(Organization.name == organization_name.strip()))
        if org is None:
            raise ValidationFailed("No organization has this name.")
        owner = {"organization": org}
    account = credits.open_account(plan, actor=actor, **owner)
    credits.move_to_plan(account, plan, actor)
    return account
