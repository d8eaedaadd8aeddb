"""Priority prices: quotes, the charge of a new ticket, customer upgrades and agent re-pricing.

Guarantees of this module:
- a quote is computed from the current tariff, the customer's plan and bank; the server quotes
  again on every submission and never trusts the form for a price; a price higher than the one
  the form showed (an admin's change, a plan switched in another tab) is refused, not charged;
- a ticket and its charge are created in one transaction; a resubmission charges once (the
  charge's idempotency key derives from the submission key);
- a charge records what was paid (the ledger amount): later tariff changes never alter it;
- lowering a ticket's priority refunds what was paid above the new tariff; raising it by an
  agent charges nothing; a customer's upgrade charges the difference to the new tariff;
- a member's monthly cap on their organization's shared bank is checked under the bank's lock
  before their submission or upgrade is charged (members.OverCap), and quotes show it.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select

from helpdesk import events, policy
from helpdesk.credits import ledger as credits
from helpdesk.credits import members
from helpdesk.credits.models import BILLING_TIME, KIND_CHARGE, KIND_REFUND, LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.errors import InsufficientCredits, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.formfields import parse_id
from helpdesk.querying import in_values
from helpdesk.tickets import editing, lifecycle, sla
from helpdesk.tickets.models import SOURCE_CREDITS, Message, Priority


@dataclass(frozen=True)
class Quote:
    """What choosing `priority` costs this customer now, and what it leaves."""

    priority: Priority
    cost: int
    balance: int
    floor: int
    due_at: datetime | None  # reply by (None: an answered ticket's upgrade, which buys a resolve-by time)
    minute_rate: int = 0  # > 0: the plan bills agent time at this rate instead of a priority price
    cap_left: int | None = None  # what the member may still spend this month under their cap (None: no cap)
    resolve_at: datetime | None = None  # an upgrade's resolve-by time, when the priority has a target

    @property
    def balance_after(self):
        return self.balance - self.cost

    @property
    def shortfall(self):
        if self.cost <= 0:
            return 0
        return max(0, self.floor - self.balance_after)

    @property
    def over_cap(self):
        """Credits the charge would take the member past their monthly cap (0: within it)."""
        if self.cost <= 0 or self.cap_left is None:
            return 0
        return max(0, self.cost - max(self.cap_left, 0))

    @property
    def cap_remaining(self):
        """What the member may still spend this month (None: no cap)."""
        return None if self.cap_left is None else max(self.cap_left, 0)

    @property
    def available(self):
        return self.shortfall == 0 and self.over_cap == 0

    @property
    def is_paid(self):
        return self.cost > 0

    locked = False  # offered by the customer's plan (see LockedPriority)


def tariff(plan, priority):
    """The credit price of `priority` under `plan` (time-mode plans pay per minute, not per ticket)."""
    if plan is not None and plan.billing_mode == BILLING_TIME:
        return 0
    return priority.credit_cost


def free_priorities(plan):
    """The priorities `plan` offers at no charge, least urgent first."""
    return [p for p in offered_priorities(plan) if tariff(plan, p) <= 0]


def offered_priorities(plan):
    """The priorities a plan offers (all of them when no plan exists at all)."""
    if plan is None:
        return db.session.scalars(select(Priority).order_by(Priority.sort_order)).all()
    return list(plan.priorities)


def quotes_for(user, *, category_id=None, now=None, cost_offset=0, payer=None):
    """A Quote for each priority of the user's plan, least urgent first, due on the calendar of
    `category_id` (the default calendar when None).

    `cost_offset` (already paid) serves upgrade quotes (upgrade_quotes sets their times); `payer`
    (default `user`) is whose monthly limit applies: an organization's manager raising a member's
    ticket pays from the shared bank without the member's limit.
    """
    now = now or utcnow()
    account = credits.account_for(user)
    plan = account.plan if account is not None else credits.default_plan()
    balance = account.balance if account is not None else 0
    floor = credits.floor_of(account) if account is not None else 0
    cap_left = members.cap_left(payer or user, account)
    quotes = []
    for priority in offered_priorities(plan):
        price = tariff(plan, priority)
        cost = max(0, price - cost_offset)
        balance_for, floor_for = balance, floor
        if price > 0 and (plan is None or not plan.credits_enabled or account is None):
            cost, balance_for, floor_for = price, min(balance, 0), 0  # a paid priority, no usable credits
        due = sla.first_response_due(priority, category_id, now)
        rate = plan.minute_rate if plan is not None and plan.billing_mode == BILLING_TIME else 0
        quotes.append(
            Quote(
                priority=priority,
                cost=cost,
                balance=balance_for,
                floor=floor_for,
                due_at=due,
                minute_rate=rate,
                cap_left=cap_left,
            )
        )
    return quotes


def quote_for(user, priority_id, **kw):
    """The quote for one priority, or None when the user's plan does not offer it."""
    return next((q for q in quotes_for(user, **kw) if q.priority.id == priority_id), None)


def shown_prices(quotes):
    """The prices a form shows, as it carries them back when sent ("3:0 4:150 5:250", priority id
    and credits): what the customer agreed to pay is what they saw (see shown_price)."""
    return " ".join(f"{q.priority.id}:{q.cost}" for q in quotes)


def shown_price(text, priority_id):
    """The credits `text` (shown_prices, as a form sent it back) showed for the priority, or None
    when it showed none (a page drawn before this field, a hand-made form): then nothing is compared."""
    for pair in str(text or "").split()[:50]:
        shown_id, _, cost = pair.partition(":")
        if parse_id(shown_id) == priority_id and cost.isascii() and cost.isdigit() and len(cost) <= 9:
            return int(cost)
    return None


def upgrade_quote(ticket, priority_id, *, paid=None, payer=None):
    """What moving `ticket` to this priority would cost its requester's bank now, paid by `payer`
    (the requester, or their organization's manager): the tariff minus what was already paid for
    the ticket, with the times the raise promises. None if not offered (see upgrade_quotes)."""
    return next(
        (q for q in upgrade_quotes(ticket, paid=paid, payer=payer) if q.priority.id == priority_id), None
    )


def upgrade_quotes(ticket, *, paid=None, payer=None):
    """The quotes for every priority of the requester's plan above the ticket's current one, each
    with what the raise promises from now (sla.priority_changed): an unanswered ticket's reply-by
    time (and resolve-by time, if the priority has a target); an answered ticket is offered only
    priorities with a resolution target, since a faster first reply is no longer there to buy."""
    paid = net_paid(ticket) if paid is None else paid
    now = utcnow()
    answered = ticket.first_response_at is not None
    found = []
    for quote in quotes_for(ticket.requester, category_id=ticket.category_id, cost_offset=paid, payer=payer):
        priority = quote.priority
        if priority.sort_order <= ticket.priority.sort_order or (
            answered and not priority.resolution_minutes
        ):
            continue
        due = None if answered else sla.raised_response_due(ticket, priority, now)
        found.append(replace(quote, due_at=due, resolve_at=sla.raised_resolution_due(ticket, priority, now)))
    return found


def raise_refusal(ticket, priority):
    """Why a customer may not raise `ticket` to `priority` although their plan offers it, or None."""
    if ticket.first_response_at is not None and not priority.resolution_minutes:
        return (
            f"This ticket has been answered, and {priority.name} promises only a faster first reply:"
            " there is nothing more to buy. Choose a priority with a resolution time, or reply on the ticket."
        )
    return None


def new_ticket_price(actor, priority):
    """(bank, cost) for `actor` opening a ticket at `priority`, quoted now from the current tariff.

    Agents pay nothing: (None, 0). Raises ValidationFailed when the customer's plan does not offer it.
    """
    if actor.is_agent:
        return None, 0
    account = credits.account_for(actor)
    plan = account.plan if account is not None else credits.default_plan()
    if plan is not None and priority.id not in {p.id for p in plan.priorities}:
        raise ValidationFailed("Choose one of the priorities of your plan.")
    return account, tariff(plan, priority)


def _insufficient(priority, cost, exc, actor=None, account=None, new_ticket=True):
    """The refusal of a priority the bank cannot pay, saying what the customer can do about it: buy
    credits, or ask a manager when they spend from their organization's bank but may not buy for it."""
    detail = str(exc).removeprefix("Not enough credits: ")  # said once, at the start
    detail = detail[:1].upper() + detail[1:]
    remedy = "Ask a manager for credits" if policy.can_ask_for_credits(actor, account) else "Buy credits"
    outcome = "Nothing was charged and no ticket was created." if new_ticket else "Nothing was charged."
    return InsufficientCredits(
        f"Not enough credits for {priority.name} priority: it costs {cost:,} credits. {detail}"
        f" {remedy} or choose a lower priority. {outcome}"
    )


def charge_new_ticket(actor, ticket, price, submission_key=None):
    """Charge `price` (from new_ticket_price) for a ticket just created, in the same transaction.

    The key derives from the submission, so a retried submission is charged once. Raises
    InsufficientCredits (the caller rolls back: no ticket, no charge). Returns the entry or None.
    """
    account, cost = price
    if cost <= 0:
        return None
    if account is None or not account.plan.credits_enabled:
        raise _insufficient(ticket.priority, cost, "Your plan has no credits.")
    credits.lock_account(account.id)  # the cap is checked under the lock the charge takes
    try:
        members.check_cap(actor, account, cost)
    except members.OverCap as exc:
        raise members.OverCap(f"{exc} Nothing was charged and no ticket was created.") from exc
    try:
        entry, _ = credits.post_entry(
            account.id,
            -cost,
            KIND_CHARGE,
            idempotency_key=f"submit:{actor.id}:{submission_key or ticket.id}",
            actor=actor,
            ticket=ticket,
            memo=f"{ticket.priority.name} priority for ticket #{ticket.id}",
            new_key=True,  # the ticket was created in this transaction, unique by this key
        )
    except InsufficientCredits as exc:
        raise _insufficient(ticket.priority, cost, exc, actor, account) from exc
    return entry


def ticket_entries(ticket):
    """The charges and refunds of a ticket, oldest first."""
    return db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind.in_((KIND_CHARGE, KIND_REFUND)))
        .order_by(LedgerEntry.id)
    ).all()


def ticket_charges_query(ticket):
    """A SELECT of the ticket's charges and refunds (its priority's and its agents' time), newest
    first: the customer's ticket page shows them a page at a time."""
    return (
        select(LedgerEntry)
        .where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind.in_((KIND_CHARGE, KIND_REFUND)))
        .order_by(LedgerEntry.id.desc())
    )


def net_paid(ticket):
    """Credits paid for the ticket's priority, net of refunds (time entries excluded)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.ticket_id == ticket.id,
            LedgerEntry.kind.in_((KIND_CHARGE, KIND_REFUND)),
            ~LedgerEntry.idempotency_key.like("time:%"),
        )
    )
    return -int(total)


def credits_spent_on(ticket_id):
    """A scalar SELECT of the credits spent on the ticket whose id is `ticket_id` (a column of an
    enclosing query: the queue's rows), priority and time charges net of refunds; NULL for none.
    One index lookup on ledger_entries.ticket_id per row."""
    return (
        select(-func.sum(LedgerEntry.amount))
        .where(LedgerEntry.ticket_id == ticket_id, in_values(LedgerEntry.kind, (KIND_CHARGE, KIND_REFUND)))
        .scalar_subquery()
    )


def credits_spent_by_ticket(ticket_ids):
    """{ticket id: credits spent on it} (priority and time charges, net of refunds) for the given
    tickets that have any, in one query on ledger_entries.ticket_id (the queue's paid marker)."""
    rows = db.session.execute(
        select(LedgerEntry.ticket_id, -func.sum(LedgerEntry.amount))
        .where(LedgerEntry.ticket_id.in_(ticket_ids), LedgerEntry.kind.in_((KIND_CHARGE, KIND_REFUND)))
        .group_by(LedgerEntry.ticket_id)
    ).all()
    return {ticket_id: int(total) for ticket_id, total in rows if total}


def ticket_account(ticket):
    """The bank a ticket's charges went to, else the requester's bank."""
    account_id = db.session.scalar(
        select(LedgerEntry.account_id)
        .where(LedgerEntry.ticket_id == ticket.id)
        .order_by(LedgerEntry.id)
        .limit(1)
    )
    if account_id is not None:
        return db.session.get(credits.CreditAccount, account_id)
    return credits.account_for(ticket.requester)


def upgrade_priority(ticket, priority, actor):
    """A customer raises their open ticket's priority and pays the difference to the new tariff.

    Raises NotAllowed, ValidationFailed (not a higher priority of the plan) or InsufficientCredits.
    """
    if not policy.can_upgrade_priority(actor, ticket):
        raise NotAllowed(_upgrade_refusal(actor, ticket))
    # Ticket row first, then the bank: the same lock order as agents' edits and replies, so a
    # customer's upgrade and an agent's change of the same ticket wait for each other, never deadlock.
    lifecycle.lock_row(ticket)
    if priority.sort_order <= ticket.priority.sort_order:
        raise ValidationFailed("Choose a higher priority than the current one.")
    refusal = raise_refusal(ticket, priority)
    if refusal:
        raise ValidationFailed(refusal)
    # A paid target that ran out before the raise is paid back first (guarantee), so the raise
    # costs the new tariff less what is still paid after that refund.
    events.priority_changing.send(ticket=ticket, now=utcnow())
    account = ticket_account(ticket)
    if account is not None:
        account = credits.lock_account(account.id)  # the paid amount is read under the bank's lock
    quote = upgrade_quote(ticket, priority.id, payer=actor)
    if quote is None:
        raise ValidationFailed("Choose one of the priorities of your plan.")
    if quote.cost > 0:
        if account is None or not account.plan.credits_enabled:
            raise _insufficient(priority, quote.cost, "Your plan has no credits.", new_ticket=False)
        refusal = shared_bank_refusal(actor, account)
        if refusal:
            raise NotAllowed(refusal)
        members.check_cap(actor, account, quote.cost)
        try:
            credits.post_entry(
                account.id,
                -quote.cost,
                KIND_CHARGE,
                idempotency_key=f"ticket:{ticket.id}:upgrade:{ticket.version}",
                actor=actor,
                ticket=ticket,
                memo=f"Upgrade of ticket #{ticket.id} from {ticket.priority.name} to {priority.name}",
            )
        except InsufficientCredits as exc:
            raise _insufficient(priority, quote.cost, exc, actor, account, new_ticket=False) from exc
    lifecycle.apply_priority(ticket, priority, actor, utcnow())
    db.session.flush()
    return quote


def _upgrade_refusal(actor, ticket):
    """Why `actor` may not raise the ticket's priority, in words they can act on (a ticket resolved
    or closed in another tab, merged meanwhile, or not theirs to change)."""
    if policy.can_close_or_reopen(actor, ticket) and not actor.is_agent:
        if ticket.merged_into_id is not None:
            return lifecycle.merged_text(ticket, "raise the priority there")
        if not ticket.is_open:
            return (
                f"This ticket is {ticket.status}: its priority cannot change. Reopen it, or open a new"
                " ticket with the priority you need."
            )
    return "You may not change the priority of this ticket."


def shared_bank_refusal(actor, account):
    """Why `actor` may not spend from `account`, the bank a ticket's charges went to, or None: an
    organization's shared bank pays only for its current members (a member who left keeps their
    tickets, not the organization's credits)."""
    if account is None or not account.organization_id or actor.organization_id == account.organization_id:
        return None
    return (
        f"This ticket is paid from {account.owner_name}'s shared bank, which you no longer belong to:"
        " its priority is raised by one of their managers, or ask the support team."
    )


def payer_of(ticket):
    """Who paid for the ticket's priority: the customer of its first charge (its requester if
    unknown): whom a refund's mail goes to."""
    charge = db.session.scalar(
        select(LedgerEntry)
        .where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind == KIND_CHARGE)
        .order_by(LedgerEntry.id)
        .limit(1)
    )
    return charge.actor if charge is not None and charge.actor is not None else ticket.requester


def change_priority(ticket, priority, actor):
    """An agent sets a ticket's priority: lowering refunds what was paid above the new tariff,
    raising charges nothing. Returns the refund entry or None.
    """
    if not policy.can_edit_ticket(actor, ticket):
        raise NotAllowed("You may not change this ticket.")
    if priority.id == ticket.priority_id:
        return None
    # A paid target that ran out before the change is paid back first (guarantee, which locks the
    # ticket, then the bank), so a lowering gives back only what is still paid above the new tariff.
    events.priority_changing.send(ticket=ticket, now=utcnow())
    refund = None
    account = ticket_account(ticket)
    if account is not None and priority.sort_order < ticket.priority.sort_order:
        account = credits.lock_account(account.id)
        excess = net_paid(ticket) - tariff(account.plan, priority)
        if excess > 0:
            refund, _ = credits.post_entry(
                account.id,
                excess,
                KIND_REFUND,
                idempotency_key=f"ticket:{ticket.id}:reprice:{ticket.version}",
                actor=actor,
                ticket=ticket,
                memo=f"Ticket #{ticket.id} lowered from {ticket.priority.name} to {priority.name}",
            )
    if refund is not None:  # the customer hears of it where they read the ticket, and by mail
        events.priority_lowered.send(
            ticket=ticket,
            credits=refund.amount,
            entry=refund,
            payer=payer_of(ticket),
            old_priority=ticket.priority.name,
            new_priority=priority.name,
        )
        text = (
            f"The support team lowered this ticket from {ticket.priority.name} to {priority.name} priority,"
            f" so the {refund.amount:,} credits paid above {priority.name} have been refunded to"
            f" {account.owner_name}'s bank."
        )
        db.session.add(Message(ticket=ticket, author=None, body=text, internal=False, source=SOURCE_CREDITS))
    lifecycle.apply_priority(ticket, priority, actor, utcnow())
    db.session.flush()
    return refund


def lowering_refund(ticket, priority_id):
    """What setting `ticket` to this priority would refund now, read only: (credits, the bank's
    owner name), or None when it is not a lowering or nothing was paid above the new tariff."""
    priority = db.session.get(Priority, priority_id) if priority_id else None
    if priority is None or priority.sort_order >= ticket.priority.sort_order:
        return None
    account = ticket_account(ticket)
    if account is None:
        return None
    excess = net_paid(ticket) - tariff(account.plan, priority)
    return (excess, account.owner_name, priority.name) if excess > 0 else None


@dataclass(frozen=True)
class PriorityChange:
    """A saved priority change (always true) and the refund it booked, if any."""

    refund: object = None  # the refund LedgerEntry, or None when nothing was refunded

    def __bool__(self):
        return True


def change_priority_seen(ticket, actor, priority_id, seen_version):
    """Set the priority through the credit service, guarded by the version the agent saw.

    Guarantees: a stale version is refused before any credit moves; lowering a paid priority
    refunds what was paid above the new tariff in the same transaction as the change (once);
    raising it charges nothing. Returns False when unchanged, else a PriorityChange.
    """
    priority = db.session.get(Priority, priority_id) if priority_id else None
    if priority is None:
        raise ValidationFailed("Choose one of the listed priorities.")
    editing.lock_for_edit(ticket, actor, seen_version, "priority")
    if ticket.priority_id == priority.id:
        return False
    return PriorityChange(refund=change_priority(ticket, priority, actor))


def priorities_for(user):
    """The priorities the user's plan offers, least urgent first (no prices: see quotes_for)."""
    account = credits.account_for(user)
    return offered_priorities(account.plan if account is not None else credits.default_plan())


def default_choice(priorities, wanted=None):
    """The priority to preselect: `wanted` if offered, else Normal, else the least urgent one."""
    ids = [p.id for p in priorities]
    if wanted in ids:
        return wanted
    normal = next((p.id for p in priorities if p.name == "Normal"), None)
    return normal or (ids[0] if ids else None)
