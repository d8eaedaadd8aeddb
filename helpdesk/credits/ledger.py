"""The credit bank: the only place balances change, always with a ledger entry, under a row lock.

Guarantees of this module:
- every balance change is one append-only LedgerEntry in the caller's transaction, and the
  account's stored balance equals the sum of its entries;
- an idempotency key is unique: posting the same key twice returns the first entry, changes nothing;
- a debit never takes a balance below the plan's overdraft floor, except a reversal of
  purchased credits (a card refund or dispute), which may put the bank in debt.
"""

import hashlib
import uuid

from flask_sqlalchemy.session import Session
from sqlalchemy import Integer, bindparam, event, func, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from helpdesk import events
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits.models import (
    KIND_ADJUSTMENT,
    KIND_ALLOWANCE,
    KIND_CHARGE,
    KIND_PURCHASE,
    KIND_REFUND,
    KIND_REVERSAL,
    KIND_SIGNUP,
    LEDGER_KINDS,
    CreditAccount,
    LedgerEntry,
    ServicePlan,
)
from helpdesk.errors import InsufficientCredits, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket

# Banks are loaded with their plan only: the owner (and its eager relationships) only when shown.
BANK_LOAD = (
    lazyload(CreditAccount.user),
    lazyload(CreditAccount.organization),
    # The plan's priorities and thresholds come in the same round trip (quotes and alerts need them).
    joinedload(CreditAccount.plan).joinedload(ServicePlan.priorities),
    joinedload(CreditAccount.plan).joinedload(ServicePlan.thresholds),
)
# The statements of every submission, built once (building one costs more than running it).
OWN_BANK = select(CreditAccount).where(CreditAccount.user_id == bindparam("user_id")).options(*BANK_LOAD)
OWN_OR_SHARED_BANK = (
    select(CreditAccount)
    .where(
        or_(
            CreditAccount.user_id == bindparam("user_id"),
            CreditAccount.organization_id == bindparam("org_id"),
        )
    )
    .options(*BANK_LOAD)
)
LOCK_BANK = (
    select(CreditAccount.balance, CreditAccount.last_topup, CreditAccount.low_stage)
    .where(CreditAccount.id == bindparam("account_id"))
    .with_for_update()
)
_tickets = Ticket.__table__
# On the table, not the ORM entity: the ORM's bulk UPDATE would first look for loaded tickets to
# synchronise (post_entry expires the one attribute instead).
ADD_PAID = (
    update(_tickets)
    .where(_tickets.c.id == bindparam("ticket_id"))
    .values(paid_credits=_tickets.c.paid_credits - bindparam("amount"))
)
# Credits in of these kinds are top-ups: they set `last_topup` (the base of percentage thresholds).
TOPUP_KINDS = (KIND_SIGNUP, KIND_ALLOWANCE, KIND_PURCHASE, KIND_ADJUSTMENT)


def find_entry(idempotency_key):
    return db.session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key))


LOCKED = "credit_banks_locked"  # session.info: ids of the banks this transaction has locked


def lock_account(account_id):
    """The account row, locked until the transaction ends (FOR UPDATE on PostgreSQL).

    On SQLite, writers already hold the database's write lock from BEGIN IMMEDIATE. A bank this
    transaction has already locked is not read again: nobody else can have changed it since, and
    this transaction's own changes are on the loaded row (a charge checks the cap, then posts).
    """
    locked = db.session.info.setdefault(LOCKED, set())
    if account_id in locked:
        account = db.session.identity_map.get(identity_key(CreditAccount, account_id))
        if account is not None and not inspect(account).expired:
            return account
    # Lock with a column-only SELECT: the entity's eager outer joins cannot be locked on PostgreSQL.
    # It also reads the moving columns, fresh now that we hold the lock.
    row = db.session.execute(LOCK_BANK, {"account_id": account_id}).one()
    locked.add(account_id)
    account = db.session.identity_map.get(identity_key(CreditAccount, account_id))
    if account is None:
        return db.session.get(CreditAccount, account_id, populate_existing=True, options=BANK_LOAD)
    for name in ("balance", "last_topup", "low_stage"):  # pending changes were autoflushed by the SELECT
        set_committed_value(account, name, getattr(row, name))
    return account


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
    new_key=False,
):
    """Append one entry and move the balance. Returns (entry, created).

    Raises InsufficientCredits (with the shortfall) when a debit would cross the floor, unless
    `allow_below_floor` (reversals of purchases only). Idempotent on `idempotency_key`; `new_key`
    when the caller's own transaction has just made the row the key names (a new ticket, unique by
    its submission key): no entry can have the key yet, so it is not looked up (the unique index
    would still refuse a second one, rolling the transaction back).
    """
    if kind not in LEDGER_KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("credit amounts are integers")
    account = lock_account(account_id)
    # Checked under the lock: a twin that committed while we waited is found, never posted twice.
    existing_id = (
        None
        if new_key
        else db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == idempotency_key))
    )
    if existing_id is not None:
        return db.session.get(LedgerEntry, existing_id), False
    new_balance = account.balance + amount
    if amount < 0 and new_balance < floor_of(account) and not (allow_below_floor and kind == KIND_REVERSAL):
        raise InsufficientCredits(
            f"Not enough credits: this needs {-amount}, the balance is {account.balance}"
            f" (short by {floor_of(account) - new_balance})."
        )
    old_balance = account.balance
    account.balance = new_balance
    if amount > 0 and kind in TOPUP_KINDS:
        account.last_topup = amount
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
    if ticket is not None and kind in (KIND_CHARGE, KIND_REFUND) and not idempotency_key.startswith("time:"):
        # What the ticket's priority is paid, net of refunds, kept beside the ledger for the queue
        # (one UPDATE ... SET paid_credits = paid_credits - amount: no stale read under concurrency).
        db.session.execute(ADD_PAID, {"ticket_id": ticket.id, "amount": amount})
        db.session.expire(ticket, ["paid_credits"])
    db.session.flush()
    # The automatic top-up first (billing records it on this event), then the low-balance alert,
    # whose mail then says the top-up has started instead of asking the customer to buy.
    events.balance_changed.send(account=account, old_balance=old_balance, entry=entry)
    credit_alerts.after_balance_change(account, old_balance, entry)
    return entry, True


def ledger_mismatches():
    """Accounts whose stored balance differs from the sum of their entries: [(id, stored, summed)]."""
    sums = (
        select(LedgerEntry.account_id, func.coalesce(func.sum(LedgerEntry.amount), 0).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    rows = db.session.execute(
        select(CreditAccount.id, CreditAccount.balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == CreditAccount.id)
        .order_by(CreditAccount.id)
    ).all()
    return [(account_id, stored, int(total)) for account_id, stored, total in rows if stored != int(total)]


def paid_credit_mismatches(limit=100):
    """Tickets whose stored paid_credits differ from their priority charges net of refunds (time
    entries excluded): [(ticket id, stored, summed)]."""
    sums = (
        select(LedgerEntry.ticket_id, (-func.sum(LedgerEntry.amount)).label("paid"))
        .where(
            LedgerEntry.ticket_id.isnot(None),
            LedgerEntry.kind.in_((KIND_CHARGE, KIND_REFUND)),
            ~LedgerEntry.idempotency_key.like("time:%"),
        )
        .group_by(LedgerEntry.ticket_id)
        .subquery()
    )
    summed = func.coalesce(sums.c.paid, 0)
    rows = db.session.execute(
        select(Ticket.id, Ticket.paid_credits, summed)
        .outerjoin(sums, sums.c.ticket_id == Ticket.id)
        .where(Ticket.paid_credits != summed)
        .order_by(Ticket.id)
        .limit(limit)
    ).all()
    return [(ticket_id, stored, int(total)) for ticket_id, stored, total in rows]


def running_balance_mismatches(limit=100):
    """Entries whose balance_after differs from the running sum of their bank's entries: [(id, stored, summed)].

    The statement shows balance_after as the running balance, so it must agree with the amounts.
    """
    running = func.sum(LedgerEntry.amount).over(partition_by=LedgerEntry.account_id, order_by=LedgerEntry.id)
    inner = select(LedgerEntry.id, LedgerEntry.balance_after, running.label("summed")).subquery()
    rows = db.session.execute(
        select(inner.c.id, inner.c.balance_after, inner.c.summed)
        .where(inner.c.balance_after != inner.c.summed)
        .order_by(inner.c.id)
        .limit(limit)
    ).all()
    return [(entry_id, stored, int(summed)) for entry_id, stored, summed in rows]


# --- Banks and plans -------------------------------------------------------------------------


def default_plan():
    return db.session.scalar(select(ServicePlan).where(ServicePlan.is_default.is_(True)).limit(1))


def self_service_plans():
    return db.session.scalars(
        select(ServicePlan).where(ServicePlan.self_service.is_(True)).order_by(ServicePlan.id)
    ).all()


def all_plans():
    return db.session.scalars(select(ServicePlan).order_by(ServicePlan.id)).all()


def account_for(user):
    """The bank `user` spends from: their organization's shared bank if it has one, else their own."""
    if user is None or not getattr(user, "id", None):
        return None
    cache = db.session.info.setdefault("credit_banks", {})  # per transaction, see _forget_banks
    key = (user.id, user.organization_id)
    if key not in cache:
        if user.organization_id:
            params = {"user_id": user.id, "org_id": user.organization_id}
            found = db.session.scalars(OWN_OR_SHARED_BANK, params).unique().all()
        else:
            found = db.session.scalars(OWN_BANK, {"user_id": user.id}).unique().all()
        cache[key] = next((a for a in found if a.organization_id), None) or next(iter(found), None)
    return cache[key]


def low_stage_query():
    """The low-balance stage of the bank a user spends from (account_for's choice: the
    organization's shared bank if it has one, else their own; 0 without a bank), as a scalar for
    the layout's one query of counts (web.register_layout_count; parameters: low_stage_params)."""
    shared = select(CreditAccount.low_stage).where(
        CreditAccount.organization_id == bindparam("bank_org_id", type_=Integer)
    )
    own = select(CreditAccount.low_stage).where(
        CreditAccount.user_id == bindparam("bank_user_id", type_=Integer)
    )
    return func.coalesce(shared.scalar_subquery(), own.scalar_subquery(), 0)


def low_stage_params(user):
    return {"bank_user_id": user.id, "bank_org_id": user.organization_id}


@event.listens_for(Session, "after_transaction_end")
def _forget_banks(session, transaction):
    """Which bank a user spends from, and which banks this transaction has locked, are
    remembered for one transaction only: until it ends (a savepoint released inside it, such as
    the one a new ticket's insert runs in, changes neither)."""
    if transaction.parent is None:
        session.info.pop("credit_banks", None)
        session.info.pop(LOCKED, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session, _previous_transaction):
    """A rollback, of a savepoint too, may undo a bank opened or a lock taken since: forget both."""
    session.info.pop("credit_banks", None)
    session.info.pop(LOCKED, None)


def banks_by_organization(organization_ids):
    """The shared credit bank of each of these organizations that has one, in one query."""
    if not organization_ids:
        return {}
    banks = db.session.scalars(
        select(CreditAccount).where(CreditAccount.organization_id.in_(organization_ids))
    ).all()
    return {bank.organization_id: bank for bank in banks}


def own_bank(user):
    """`user`'s own bank (not their organization's), or None."""
    return db.session.scalars(OWN_BANK, {"user_id": user.id}).unique().first()


def hidden_own_bank(user):
    """`user`'s own bank when it holds credits but they spend from their organization's shared
    bank (account_for): its credits wait, unused, while they belong to it. Else None."""
    if not user.organization_id:
        return None
    own = own_bank(user)
    if own is None or own.balance == 0:
        return None
    spends = account_for(user)
    return own if spends is not None and spends.id != own.id else None


def joining_warning(user, organization):
    """Receiver of events.customer_joining: what joining `organization` does to the customer's own
    bank when it holds credits and the organization has a shared bank (which then pays for their
    tickets instead), or None. Says what an admin can do about it; nothing moves by itself."""
    shared = bank_for(organization)
    own = own_bank(user)
    if shared is None or own is None or own.balance == 0:
        return None
    return (
        f"{user.name} has their own credit bank holding {own.balance:,} credits. While they belong to "
        f"{organization.name}, their new tickets are paid from {organization.name}'s shared bank "
        f"({shared.balance:,} credits); their own bank serves only tickets already charged to it "
        "(their refunds and agent time). They keep its credits (their Credits page shows them) and "
        "spend them again if they leave the organization. To move the "
        f"credits, book a deduction on their bank and a grant on {organization.name}'s "
        "(Plans and credits, Banks)."
    )


def bank_for(organization):
    """The organization's shared credit bank, or None."""
    return banks_by_organization([organization.id]).get(organization.id)


def plan_for(user):
    """The plan that applies to `user`: their bank's, else the default plan (None if none exists)."""
    account = account_for(user)
    return account.plan if account is not None else default_plan()


def open_account(plan, *, user=None, organization=None, actor=None):
    """Create the bank of a user or an organization on `plan`, with the plan's sign-up grant.

    Guarantees: one bank per owner (an existing bank, even one opened concurrently, is returned
    unchanged); the grant is one ledger entry in the caller's transaction, keyed per bank so it is
    never granted twice.
    """
    if (user is None) == (organization is None):
        raise ValueError("a bank has exactly one owner")
    owner_filter = (
        CreditAccount.user_id == user.id
        if user is not None
        else CreditAccount.organization_id == organization.id
    )
    account = db.session.scalar(select(CreditAccount).where(owner_filter))
    if account is not None:
        return account
    account = CreditAccount(
        user_id=user.id if user is not None else None,
        organization_id=organization.id if organization is not None else None,
        plan=plan,
        balance=0,
    )
    db.session.info.pop("credit_banks", None)  # a lookup earlier in this transaction found no bank
    try:
        with db.session.begin_nested():  # a concurrent first use (say, two purchases) may open it too
            db.session.add(account)
            db.session.flush()
    except IntegrityError:
        return db.session.scalar(select(CreditAccount).where(owner_filter))
    if plan.credits_enabled and plan.signup_grant > 0:
        post_entry(
            account.id,
            plan.signup_grant,
            KIND_SIGNUP,
            idempotency_key=f"signup:{account.id}",
            actor=actor,
            memo=f"{plan.name} plan",
        )
    return account


def open_chosen_plan(user, plan_id):
    """Open a new customer's bank on the self-service plan they chose (the default plan if none).

    Raises ValidationFailed for a plan that is not self-service. No plans at all: no bank.
    """
    plan = db.session.get(ServicePlan, plan_id) if plan_id else default_plan()
    if plan_id and (plan is None or not plan.self_service):
        raise ValidationFailed("Choose one of the plans offered.")
    if plan is None:
        return None
    return open_account(plan, user=user, actor=user)


def move_to_plan(account, plan, actor):
    """Put a bank on another plan; the change is attributed by a zero-amount ledger entry."""
    if account.plan_id == plan.id:
        return None
    old = account.plan.name
    account.plan = plan
    db.session.flush()
    entry, _ = post_entry(
        account.id,
        0,
        KIND_ADJUSTMENT,
        idempotency_key=f"plan:{account.id}:{uuid.uuid4().hex}",
        actor=actor,
        memo=f"Plan changed from {old} to {plan.name}",
    )
    return entry


def adjust(account, amount, reason, actor, submission_key=None):
    """An admin's grant (amount > 0) or deduction (amount < 0), with a required reason. Returns
    (entry, created).

    A deduction never takes the bank below its floor (InsufficientCredits). With the form's
    `submission_key` (made when the form was shown), one form books once: sent again with the same
    amount and reason (a double click, a confirmation posted twice, back and resubmit), it returns
    the entry it booked, created False, and books nothing; a twin sent at the same moment waits
    for the bank's lock, then finds it.
    """
    reason = (reason or "").strip()
    key = adjustment_key(account, amount, reason, submission_key)
    if submission_key:
        lock_account(account.id)
        booked = _entry_keyed(key)
        if booked is not None:  # not refused for the floor it already went down to
            return booked, False
    refusal = adjustment_refusal(account, amount, reason)
    if refusal:
        raise ValidationFailed(refusal)
    return post_entry(account.id, int(amount), KIND_ADJUSTMENT, idempotency_key=key, actor=actor, memo=reason)


def adjustment_key(account, amount, reason, submission_key=None):
    """The ledger key of an adjustment: from the form's submission key and what it books (another
    amount or reason typed into a kept copy of the form is another adjustment), hashed like a
    checkout's (billing.purchases.checkout_key); random without a submission key."""
    if not submission_key:
        return f"adjust:{account.id}:{uuid.uuid4().hex}"
    content = f"{submission_key}\0{int(amount)}\0{(reason or '').strip()}".encode()
    return f"adjust:{account.id}:{hashlib.sha256(content).hexdigest()[:32]}"


def booked_adjustment(account, amount, reason, submission_key):
    """The entry this form already booked with this amount and reason, or None."""
    if not submission_key:
        return None
    return _entry_keyed(adjustment_key(account, amount, reason, submission_key))


def _entry_keyed(key):
    found = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key))
    return db.session.get(LedgerEntry, found) if found is not None else None


def adjustment_refusal(account, amount, reason):
    """Why this adjustment cannot be booked (a sentence), or None: asked before the admin is asked
    to confirm, and again under the bank's lock when it is booked (post_entry keeps the floor)."""
    if not (reason or "").strip():
        return "Give a reason for the adjustment."
    if not amount:
        return "Enter a non-zero amount."
    if amount < 0 and account.balance + amount < floor_of(account):
        return (
            f"Not enough credits: the balance is {account.balance:,} and this bank may go down to "
            f"{floor_of(account):,}, so at most {account.balance - floor_of(account):,} can be taken."
        )
    return None


def bank_list_query(search=""):
    """Banks for the admin list, by owner name or e-mail (case-insensitive substring), oldest first."""
    from helpdesk.accounts.models import Organization, User

    query = (
        select(CreditAccount)
        .outerjoin(User, User.id == CreditAccount.user_id)
        .outerjoin(Organization, Organization.id == CreditAccount.organization_id)
        .order_by(CreditAccount.id)
    )
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                User.name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
                Organization.name.ilike(pattern, escape="\\"),
            )
        )
    return query


def statement_query(account):
    """A bank's ledger, newest first; each entry carries its running balance (balance_after)."""
    return select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.id.desc())
