"""What the agents' credit panel shows about one ticket, as plain values in prebuilt queries:
the priority paid and what it cost, the bank paying for the ticket with its plan and low-balance
alert, one page of the time entries (newest first: a ticket worked for months holds hundreds),
the time charged over all of them, and the viewer's running timer wherever it is in the list.

The bank is the one the ticket's charges went to, else the requester's (their organization's
shared bank if it has one, else their own): quotes.ticket_account, in SQL.
"""

import functools
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import aliased

from helpdesk.accounts.models import Organization, User
from helpdesk.credits.models import (
    ALERT_LOW_BALANCE,
    BILLING_TIME,
    KIND_CHARGE,
    KIND_REFUND,
    CreditAccount,
    CreditAlert,
    LedgerEntry,
    ServicePlan,
    TimeEntry,
)
from helpdesk.extensions import db
from helpdesk.querying import in_values
from helpdesk.tickets.models import Priority, Ticket
from helpdesk.web import Page

TICKET_ID = bindparam("ticket_id")


@dataclass(frozen=True)
class Bank:
    id: int
    owner_name: str
    plan_name: str
    balance: int


@dataclass(frozen=True)
class Agent:
    id: int
    name: str


@dataclass(frozen=True)
class TimeEntryView:
    id: int
    agent: Agent
    minutes: int | None
    note: str
    started_at: object
    billed: int
    unbilled: bool
    deleted_at: object
    revision: int = 0  # bumped by every edit or deletion: the version its edit form carries

    @property
    def running(self):
        return self.minutes is None and self.deleted_at is None


@dataclass(frozen=True)
class LowAlert:
    text: str


@dataclass(frozen=True)
class TicketCredits:
    priority: str
    bank: Bank | None
    paid: int  # the priority's charges net of refunds (time entries excluded)
    bills_time: bool  # the bank's plan charges agent time
    low_alert: LowAlert | None
    entries: Page  # one page of the time entries (TimeEntryView), newest first
    time_billed: int = 0  # over every entry not deleted, not only this page's
    total_minutes: int = 0
    timer: TimeEntryView | None = None  # the viewer's running timer on this ticket


@functools.cache
def _bank_statement():
    requester = aliased(User, name="requester")
    bank = aliased(CreditAccount, name="bank")
    owner_org, owner_user = aliased(Organization, name="owner_org"), aliased(User, name="owner_user")
    charged_to = (
        select(LedgerEntry.account_id)
        .where(LedgerEntry.ticket_id == Ticket.id)
        .order_by(LedgerEntry.id)
        .limit(1)
        .scalar_subquery()
    )
    shared = select(CreditAccount.id).where(CreditAccount.organization_id == requester.organization_id)
    own = select(CreditAccount.id).where(CreditAccount.user_id == Ticket.requester_id)
    bank_id = func.coalesce(charged_to, shared.scalar_subquery(), own.scalar_subquery())
    paid = select(func.coalesce(-func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.ticket_id == Ticket.id,
        in_values(LedgerEntry.kind, (KIND_CHARGE, KIND_REFUND)),
        ~LedgerEntry.idempotency_key.like("time:%"),
    )
    alert = (
        select(CreditAlert.text)
        .where(CreditAlert.account_id == bank.id, CreditAlert.kind == ALERT_LOW_BALANCE)
        .order_by(CreditAlert.id.desc())
        .limit(1)
    )
    return (
        select(
            Priority.name.label("priority"),
            bank.id.label("bank_id"),
            bank.balance,
            bank.low_stage,
            func.coalesce(owner_org.name, owner_user.name).label("owner_name"),
            ServicePlan.name.label("plan_name"),
            ServicePlan.credits_enabled,
            ServicePlan.billing_mode,
            paid.scalar_subquery().label("paid"),
            alert.scalar_subquery().label("alert"),
        )
        .select_from(Ticket)
        .join(Priority, Priority.id == Ticket.priority_id)
        .join(requester, requester.id == Ticket.requester_id)
        .outerjoin(bank, bank.id == bank_id)
        .outerjoin(ServicePlan, ServicePlan.id == bank.plan_id)
        .outerjoin(owner_org, owner_org.id == bank.organization_id)
        .outerjoin(owner_user, owner_user.id == bank.user_id)
        .where(Ticket.id == TICKET_ID)
    )


def _entry_columns():
    return (
        TimeEntry.id,
        TimeEntry.agent_id,
        User.name,
        TimeEntry.minutes,
        TimeEntry.note,
        TimeEntry.started_at,
        TimeEntry.billed,
        TimeEntry.unbilled,
        TimeEntry.deleted_at,
        TimeEntry.revision,
    )


def _totals(window):
    """What is over all of a ticket's entries, whatever page is shown: how many (deleted ones are
    listed too), the minutes and credits of those not deleted, and the id of the viewer's running
    timer (one at most: start_timer reuses it), wherever it is in the list. `window`: as window
    functions, carried by each row of a page (one statement, as before there were pages)."""
    live = TimeEntry.deleted_at.is_(None)
    running = and_(TimeEntry.agent_id == bindparam("viewer_id"), TimeEntry.minutes.is_(None), live)

    def whole(aggregate):
        return aggregate.over() if window else aggregate

    return (
        whole(func.count(TimeEntry.id)).label("total_count"),
        func.coalesce(whole(func.sum(case((live, TimeEntry.minutes), else_=0))), 0).label("total_minutes"),
        func.coalesce(whole(func.sum(case((live, TimeEntry.billed), else_=0))), 0).label("total_billed"),
        whole(func.min(case((running, TimeEntry.id)))).label("timer_id"),
    )


@functools.cache
def _entries_statement():
    """One page of the ticket's entries, newest first (the id is unique), with _totals on each row."""
    return (
        select(*_entry_columns(), *_totals(window=True))
        .join(User, User.id == TimeEntry.agent_id)
        .where(TimeEntry.ticket_id == TICKET_ID)
        .order_by(TimeEntry.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@functools.cache
def _totals_statement():
    """_totals for a page past the end (which has no rows to carry them)."""
    return select(*_totals(window=False)).where(TimeEntry.ticket_id == TICKET_ID)


@functools.cache
def _entry_statement():
    """One entry, by id (the viewer's running timer, when it is on another page)."""
    return (
        select(*_entry_columns())
        .join(User, User.id == TimeEntry.agent_id)
        .where(TimeEntry.id == bindparam("entry_id"))
    )


def _entry_view(e):
    return TimeEntryView(
        e.id,
        Agent(e.agent_id, e.name),
        e.minutes,
        e.note,
        e.started_at,
        e.billed,
        e.unbilled,
        e.deleted_at,
        e.revision,
    )


def ticket_credits(ticket_id, viewer_id, page=1, per_page=25):
    """What the credit panel shows about the ticket (it must exist) to the agent `viewer_id`:
    page `page` of its time entries, `per_page` a page (a page past the end is an empty page)."""
    connection = db.session.connection()
    row = connection.execute(_bank_statement(), {"ticket_id": ticket_id}).one()
    params = {
        "ticket_id": ticket_id,
        "viewer_id": viewer_id,
        "limit": per_page,
        "offset": (page - 1) * per_page,
    }
    rows = connection.execute(_entries_statement(), params).all()
    entries = tuple(_entry_view(e) for e in rows)
    if rows:
        totals = rows[0]
    elif page > 1:  # past the end: no row to carry the totals
        totals = connection.execute(_totals_statement(), params).one()
    else:  # no entries at all
        totals = None
    timer_id = totals.timer_id if totals is not None else None
    timer = next((e for e in entries if e.id == timer_id), None)
    if timer_id is not None and timer is None:  # on another page of the list
        timer = _entry_view(connection.execute(_entry_statement(), {"entry_id": timer_id}).one())
    bank = None
    if row.bank_id is not None:
        bank = Bank(row.bank_id, row.owner_name, row.plan_name, row.balance)
    return TicketCredits(
        priority=row.priority,
        bank=bank,
        paid=int(row.paid or 0),
        bills_time=bool(bank and row.credits_enabled and row.billing_mode == BILLING_TIME),
        low_alert=LowAlert(row.alert) if bank and row.low_stage > 0 and row.alert is not None else None,
        entries=Page(entries, page, per_page, totals.total_count if totals is not None else 0),
        time_billed=int(totals.total_billed) if totals is not None else 0,
        total_minutes=int(totals.total_minutes) if totals is not None else 0,
        timer=timer,
    )
