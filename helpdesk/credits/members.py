"""Members of an organization spending from its shared bank: who spent what, monthly caps, usage.

Guarantees:
- who spent an entry: for ticket charges and refunds, the customer who acted (a member submitting
  or upgrading, a manager upgrading for them), else the ticket's requester (agent time, refunds
  by the desk); other entries (purchases, grants) are nobody's spending;
- a member's spending in a month (UTC) is what they were charged net of refunds, on that bank;
- a cap applies to members who are not managers, and is checked under the bank's row lock
  before any charge they make (OverCap), so simultaneous submissions cannot pass it together;
- a cap is set or removed only by a manager of the organization, and each change is recorded as
  a CreditSettingChange (subject "member_cap", the member's id) naming the manager.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from helpdesk import policy
from helpdesk.accounts.models import ROLE_CUSTOMER, User
from helpdesk.credits.allowances import period_of
from helpdesk.credits.models import KIND_CHARGE, KIND_REFUND, CreditSettingChange, LedgerEntry, MemberCap
from helpdesk.dbtypes import utcnow
from helpdesk.errors import InsufficientCredits, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import is_row_id
from helpdesk.tickets.models import Ticket

SPENDING_KINDS = (KIND_CHARGE, KIND_REFUND)


class OverCap(InsufficientCredits):
    """The member's monthly cap does not cover the charge (the bank may)."""


def month_range(period):
    """(start, end) of a 'YYYY-MM' period in UTC; ValueError if it is not one."""
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def _spender_query(account, period):
    """SELECT spender id, ticket id, amount of the bank's spending entries in `period`."""
    actor = aliased(User)
    spender = case((actor.role == ROLE_CUSTOMER, LedgerEntry.actor_id), else_=Ticket.requester_id)
    start, end = month_range(period)
    return (
        select(spender.label("user_id"), LedgerEntry.ticket_id, LedgerEntry.amount, LedgerEntry.kind)
        .select_from(LedgerEntry)
        .outerjoin(actor, actor.id == LedgerEntry.actor_id)
        .outerjoin(Ticket, Ticket.id == LedgerEntry.ticket_id)
        .where(
            LedgerEntry.account_id == account.id,
            LedgerEntry.kind.in_(SPENDING_KINDS),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
    )


def spent_by(account, user_id, period=None):
    """Credits `user_id` spent from the bank in `period` (default: this month), net of refunds."""
    rows = _spender_query(account, period or period_of(utcnow())).subquery()
    total = db.session.scalar(
        select(func.coalesce(func.sum(rows.c.amount), 0)).where(rows.c.user_id == user_id)
    )
    return -int(total)


def spenders(entries):
    """{entry id: the User who spent it} for the spending entries among `entries` (one query)."""
    ticket_ids = {e.ticket_id for e in entries if e.ticket_id and e.kind in SPENDING_KINDS}
    requesters = {}
    if ticket_ids:
        rows = db.session.execute(
            select(Ticket.id, User)
            .join(User, User.id == Ticket.requester_id)
            .where(Ticket.id.in_(ticket_ids))
        ).all()
        requesters = {ticket_id: user for ticket_id, user in rows}
    found = {}
    for e in entries:
        if e.kind not in SPENDING_KINDS:
            continue
        who = e.actor if e.actor is not None and e.actor.is_customer else requesters.get(e.ticket_id)
        if who is not None:
            found[e.id] = who
    return found


def is_capped(user, account):
    """Caps apply to the organization's members who spend from its shared bank, managers excepted."""
    return bool(
        account is not None
        and account.organization_id
        and user is not None
        and user.organization_id == account.organization_id
        and not user.is_org_manager
    )


def cap_of(account, user_id):
    return db.session.scalar(
        select(MemberCap).where(MemberCap.account_id == account.id, MemberCap.user_id == user_id)
    )


def cap_left(user, account):
    """Credits `user` may still spend from `account` this month under their cap; None: no cap."""
    if not is_capped(user, account):
        return None
    cap = cap_of(account, user.id)
    if cap is None:
        return None
    return cap.monthly_cap - spent_by(account, user.id)


def check_cap(actor, account, cost):
    """Raise OverCap when `cost` takes `actor` past their monthly cap (call under the bank's lock)."""
    if cost <= 0 or not is_capped(actor, account):
        return
    cap = cap_of(account, actor.id)
    if cap is None:
        return
    spent = spent_by(account, actor.id)
    if spent + cost > cap.monthly_cap:
        raise OverCap(
            f"Over your monthly limit: {account.owner_name}'s managers let you spend {cap.monthly_cap:,} credits"
            f" a month from the shared bank; you have spent {spent:,} this month and this needs {cost:,}."
            " Ask a manager for more, or choose a lower priority."
        )


def _member_of(manager, account, member_id):
    if not policy.can_manage_members(manager, account):
        raise NotAllowed("Only a manager of the organization sets its members' limits.")
    member = db.session.get(User, member_id) if is_row_id(member_id) else None
    if member is None or member.organization_id != account.organization_id or not member.is_customer:
        raise ValidationFailed("Choose a member of your organization.")
    if member.is_org_manager:
        raise ValidationFailed("Managers have no monthly limit: they buy the credits.")
    return member


def set_cap(manager, account, member_id, monthly_cap):
    """Set (or, with None, remove) a member's monthly cap on the shared bank. Returns the member."""
    member = _member_of(manager, account, member_id)
    if monthly_cap is not None and monthly_cap < 0:
        raise ValidationFailed("A limit is 0 credits or more.")
    cap = cap_of(account, member.id)
    old = cap.monthly_cap if cap is not None else None
    if old == monthly_cap:
        return member
    if monthly_cap is None:
        db.session.delete(cap)
    elif cap is None:
        db.session.add(
            MemberCap(account_id=account.id, user_id=member.id, monthly_cap=monthly_cap, set_by_id=manager.id)
        )
    else:
        cap.monthly_cap, cap.set_by_id, cap.updated_at = monthly_cap, manager.id, utcnow()
    db.session.add(
        CreditSettingChange(
            actor_id=manager.id,
            subject="member_cap",
            subject_id=member.id,
            field="monthly_cap",
            old_value=None if old is None else str(old),
            new_value=None if monthly_cap is None else str(monthly_cap),
        )
    )
    db.session.flush()
    return member


@dataclass(frozen=True)
class MemberUsage:
    """One member's month on the shared bank."""

    user: User
    tickets: int
    charged: int
    refunded: int
    cap: int | None

    @property
    def net(self):
        return self.charged - self.refunded

    cappable: bool = True  # a member a manager may limit (not a manager, still in the organization)
    member: bool = True  # still in the organization (False: left it, or moved, after spending)

    @property
    def manager(self):
        """A manager of this organization (one of another organization's is a former member here)."""
        return self.member and self.user.is_org_manager

    @property
    def left(self):
        """What the member may still spend this month (None: no limit)."""
        return None if self.cap is None else max(0, self.cap - self.net)


def usage_people(account, period):
    """A SELECT of whom the usage page lists for `period`, by name: every member of the bank's
    organization, and anyone else who spent from it then (a former member). The page paginates
    it; `usage_of` gives their figures."""
    rows = _spender_query(account, period).subquery()
    spenders = select(rows.c.user_id).where(rows.c.user_id.is_not(None))
    members = and_(User.organization_id == account.organization_id, User.role == ROLE_CUSTOMER)
    return select(User).where(or_(members, User.id.in_(spenders))).order_by(func.lower(User.name), User.id)


def usage_of(account, period, people=None):
    """The MemberUsage of each of `people` (Users, in their order) in `period`; every one of
    `usage_people` when None (one query for the figures and one for the caps, whatever the count)."""
    rows = _spender_query(account, period).subquery()
    figures = select(
        rows.c.user_id,
        func.count(func.distinct(rows.c.ticket_id)),
        func.coalesce(func.sum(case((rows.c.kind == KIND_CHARGE, -rows.c.amount), else_=0)), 0),
        func.coalesce(func.sum(case((rows.c.kind == KIND_REFUND, rows.c.amount), else_=0)), 0),
    ).group_by(rows.c.user_id)
    caps = select(MemberCap.user_id, MemberCap.monthly_cap).where(MemberCap.account_id == account.id)
    if people is None:
        people = db.session.scalars(usage_people(account, period)).all()
    else:
        ids = [user.id for user in people]
        figures = figures.where(rows.c.user_id.in_(ids))
        caps = caps.where(MemberCap.user_id.in_(ids))
    spent = {
        user_id: (tickets, int(charged), int(refunded))
        for user_id, tickets, charged, refunded in db.session.execute(figures)
    }
    caps = dict(db.session.execute(caps).all())
    summary = []
    for user in people:
        tickets, charged, refunded = spent.get(user.id, (0, 0, 0))
        member = user.organization_id == account.organization_id
        summary.append(
            MemberUsage(user, tickets, charged, refunded, caps.get(user.id), is_capped(user, account), member)
        )
    return summary


def usage_summary(account, period):
    """Every member of the bank's organization (and anyone else who spent from it) with what they
    spent in `period`, by name (the CSV: the page shows them a page at a time)."""
    return usage_of(account, period)
