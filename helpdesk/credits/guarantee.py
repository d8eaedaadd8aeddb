"""The guarantee: a paid response time is kept, or paid back, exactly once per ticket and target.

What is paid back, and when (the README's "Guarantee" section says it for customers):
- first response, in full (key `sla:<ticket id>`): when the reply-by time passes without a public
  reply from an agent (`flask credits sla-sweep`, cron), when the first public agent reply comes
  late (at that reply), and when the customer withdraws (closes) the ticket before any agent
  replied (at the close, whatever the plan);
- resolution, the priority's refund percentage of what is still paid (key
  `sla-resolution:<ticket id>`): when the resolve-by time passes unresolved (sweep), or the ticket
  is resolved late (at that moment);
- a merged duplicate's priority, in full (key `merge:<ticket id>`), when no agent had answered it
  publicly before the merge (on_ticket_merged; an answered one keeps its charge: delivered).
The response and resolution guarantees need a plan with the guarantee; paid tickets only.

Exactly once, whichever path gets there first and on however many processes: each path locks
the ticket row, then the bank (the order every ticket writer keeps), checks the target's key
under those locks, and the ledger's unique idempotency key refuses a second entry anyway. A ticket
refunded, made free again on reopening and then raised and charged again has a new promise: its
response refund has a key of its own (`_response_key`), paid once too. Each
refund writes a system message on the ticket, a line on the bank's statement, an alert for the
admins' list and `events.guarantee_refunded` (the mail to whoever paid; the reports count it).

Warnings: a paid ticket that has used SLA_WARN_AT per cent of a target gets one
`events.sla_at_risk` (stamped on the ticket, so the sweep never sends it twice).
"""

from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select, update

from helpdesk import events
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import ledger as credits
from helpdesk.credits import time_entries
from helpdesk.credits.models import ALERT_SLA_REFUND, KIND_CHARGE, KIND_REFUND, LedgerEntry, TimeEntry
from helpdesk.credits.quotes import (
    default_choice,
    free_priorities,
    net_paid,
    payer_of,
    tariff,
    ticket_account,
)
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    SOURCE_CREDITS,
    STATUS_CLOSED,
    STATUS_NEW,
    STATUS_OPEN,
    STATUS_RESOLVED,
    Message,
    Priority,
    Ticket,
)

RESPONSE, RESOLUTION = "response", "resolution"
KEYS = {RESPONSE: "sla:{}", RESOLUTION: "sla-resolution:{}"}


def refund_key(ticket_id, target):
    return KEYS[target].format(ticket_id)


def _response_key(ticket):
    """The first-response refund's key: `sla:<id>` the first time; for a ticket refunded once,
    made free again, then raised and charged again (free_again), `sla:<id>:<its latest charge's
    entry id>`, so that new charge carries its own promise, paid back once too. Read under the
    ticket's lock, as every charge of the ticket is booked: racing paths find the same key."""
    first = refund_key(ticket.id, RESPONSE)
    if credits.find_entry(first) is None:
        return first
    charge_id = db.session.scalar(
        select(LedgerEntry.id)
        .where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind == KIND_CHARGE)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    return f"{first}:{charge_id}"


def lock_ticket(ticket):
    """The ticket row locked until commit, its fields read afresh (lifecycle.lock_row)."""
    return lifecycle.lock_row(ticket)


def _texts(ticket, target, reason, amount, percent):
    name = ticket.priority.name
    if reason.startswith("merged into "):
        into = reason.removeprefix("merged into ")
        text = (
            f"This ticket was merged into {into}, so the {amount:,} credits paid for {name} priority"
            " have been refunded to your bank."
        )
        return f"Ticket #{ticket.id} merged into {into}: charge refunded", text
    if reason == "withdrawn":
        text = (
            f"This ticket was closed before anyone answered it, so the {amount:,} credits paid for "
            f"{name} priority have been refunded to your bank."
        )
        return f"Ticket #{ticket.id} withdrawn before a reply: charge refunded", text
    if target == RESPONSE:
        text = (
            f"The response target for {name} priority was missed, so the {amount:,} credits paid "
            "for it have been refunded to your bank."
        )
        return f"Response target missed on ticket #{ticket.id}: charge refunded", text
    text = (
        f"The resolution target for {name} priority was missed, so {percent}% of the credits paid "
        f"for it ({amount:,}) have been refunded to your bank."
    )
    return f"Resolution target missed on ticket #{ticket.id}: {percent}% refunded", text


def refund(ticket, target, reason, percent=100, key=None):
    """Pay back `percent` of what the ticket's priority is still paid, once per target (or per
    `key`); the caller holds the ticket's lock and has checked the rule. Returns the ledger entry
    or None."""
    key = key or (_response_key(ticket) if target == RESPONSE else refund_key(ticket.id, target))
    if credits.find_entry(key) is not None:
        return None
    account = ticket_account(ticket)
    if account is None:
        return None
    account = credits.lock_account(account.id)  # what is paid is read under the bank's lock
    amount = net_paid(ticket) * percent // 100
    if amount <= 0:
        return None
    memo, text = _texts(ticket, target, reason, amount, percent)
    entry, created = credits.post_entry(
        account.id, amount, KIND_REFUND, idempotency_key=key, ticket=ticket, memo=memo
    )
    if not created:
        return None
    db.session.add(Message(ticket=ticket, author=None, body=text, internal=False, source=SOURCE_CREDITS))
    # The admins' alert list speaks of the bank by name ("your bank" is the customer's message).
    alert_text = f"{memo} ({amount:,} credits to {account.owner_name}'s bank)."
    alert = credit_alerts.record_alert(account, ALERT_SLA_REFUND, alert_text, ticket=ticket)
    events.guarantee_refunded.send(
        ticket=ticket,
        credits=amount,
        entry=entry,
        alert=alert,
        target=target,
        payer=payer_of(ticket),
        reason=reason,
        percent=percent,
    )
    db.session.flush()
    return entry


def _guaranteed(ticket):
    account = ticket_account(ticket)
    return account is not None and account.plan.guarantee


def settle_response(ticket, now):
    """Refund the first-response charge if its target is missed: answered late, or not answered
    by the due time. Locks the ticket. Returns the entry or None."""
    ticket = lock_ticket(ticket)
    replied = ticket.first_response_at
    missed = replied > ticket.due_at if replied is not None else ticket.due_at <= now
    if not missed or ticket.paid_credits <= 0 or not _guaranteed(ticket):
        return None
    return refund(ticket, RESPONSE, "missed")


def settle_resolution(ticket, now):
    """Refund the priority's percentage if the resolution target is missed (resolved late, or
    unresolved at the due time). Locks the ticket. Returns the entry or None."""
    ticket = lock_ticket(ticket)
    due, percent = ticket.resolution_due_at, ticket.priority.resolution_refund_percent
    if due is None or percent <= 0 or ticket.paid_credits <= 0:
        return None
    done = ticket.resolved_at
    if not (done > due if done is not None else due <= now) or not _guaranteed(ticket):
        return None
    return refund(ticket, RESOLUTION, "missed", percent)


def withdraw(ticket):
    """A customer closed a paid ticket before any agent's public reply: the charge comes back."""
    ticket = lock_ticket(ticket)
    if ticket.first_response_at is not None or ticket.paid_credits <= 0:
        return None
    return refund(ticket, RESPONSE, "withdrawn")


@dataclass(frozen=True)
class MergeMoney:
    """What merging a paid duplicate does with what is still paid for its priority."""

    credits: int
    owner: str  # the bank's owner: the customer, or the organization whose shared bank paid
    refunded: bool  # False: the charge stays (an agent answered: the priority was delivered)


def merge_money(duplicate):
    """What `merge` will do with the duplicate's priority charge, read only (the question before
    the merge), or None when nothing is paid: refunded in full when no agent had answered it
    publicly (the customer paid twice for one problem), kept when one had."""
    paid = net_paid(duplicate)
    if paid <= 0:
        return None
    account = ticket_account(duplicate)
    owner = account.owner_name if account is not None else duplicate.requester.name
    return MergeMoney(credits=paid, owner=owner, refunded=duplicate.first_response_at is None)


def on_ticket_merged(duplicate, kept, actor):
    """A duplicate merged into another ticket (tickets/merging.py, rows locked): its time entries
    move with its conversation (what they billed stays billed; the running timers of agents who may
    not work the kept ticket are stopped first, as losing access stops them, and so are those of
    agents whose timer runs on the kept ticket too: one timer per agent there). What is still paid for the
    duplicate's priority comes back in full if no agent had answered it (the customer paid twice
    for one problem; the kept ticket takes a more urgent priority at no charge); if one had, the
    priority was delivered and the charge stays, said in the duplicate's history."""
    time_entries.stop_timers_leaving(duplicate, kept, actor)  # never where its agent may not work, nor twice
    db.session.execute(update(TimeEntry).where(TimeEntry.ticket_id == duplicate.id).values(ticket_id=kept.id))
    money = merge_money(duplicate)  # the rule the question before the merge stated
    if money is None:
        return None
    if money.refunded:
        return refund(duplicate, RESPONSE, f"merged into #{kept.id}", key=f"merge:{duplicate.id}")
    lifecycle.record_event(
        duplicate,
        actor,
        "charge kept",
        None,
        f"{money.credits:,} credits for {duplicate.priority.name} priority: an agent had answered it",
    )
    return None


def on_message_posted(message, first_agent_reply):
    """The first public reply by an agent settles the first-response guarantee."""
    if first_agent_reply:
        settle_response(message.ticket, utcnow())


def on_priority_changing(ticket, now):
    """A priority change (a customer's upgrade, an agent's raise or lowering, a merge giving the
    kept ticket the duplicate's priority) moves the clocks: a raise promises its target from now,
    a lowering counts its own from creation. A paid target that ran out before it, and that the
    sweep has not paid back yet, is settled first, on the clocks it was missed on: else the new
    reply-by time hid it, and an answer within the new target left the customer without the
    refund the missed one owed. What the change then costs or gives back is priced on what is
    still paid after that refund."""
    if ticket.paid_credits <= 0:
        return
    if ticket.first_response_at is None and ticket.due_at <= now:
        settle_response(ticket, now)
    if (
        ticket.resolved_at is None
        and ticket.resolution_due_at is not None
        and ticket.resolution_due_at <= now
    ):
        settle_resolution(ticket, now)


def on_status_changed(ticket, actor, old, new):
    """A customer's close before any reply withdraws the ticket; a late resolution refunds; a
    refunded ticket reopened before any answer goes back to a free priority."""
    if new == STATUS_CLOSED and actor is not None and not actor.is_agent and ticket.first_response_at is None:
        withdraw(ticket)
    elif new in (STATUS_RESOLVED, STATUS_CLOSED):
        settle_resolution(ticket, utcnow())
    elif old in (STATUS_RESOLVED, STATUS_CLOSED) and new in OPEN_STATUSES:
        free_again(ticket)


def free_again(ticket):
    """A paid ticket whose charge came back before any agent answered (withdrawn, or its response
    target missed) and that is then reopened returns to the plan's free priority: the refund
    settled that priority's promise, and keeping it would run a paid reply-by clock that nobody
    paid for (close, reopen: urgent for free). The customer may raise it again, and pay again.
    Returns the free priority, or None when the ticket keeps its own."""
    ticket = lock_ticket(ticket)
    if ticket.first_response_at is not None or ticket.paid_credits > 0:
        return None
    if credits.find_entry(refund_key(ticket.id, RESPONSE)) is None:
        return None  # never refunded: an agent's free raise stays as the agent set it
    account = ticket_account(ticket)
    plan = account.plan if account is not None else None
    if tariff(plan, ticket.priority) <= 0:
        return None
    choice = default_choice(free_priorities(plan))
    if choice is None:
        return None
    paid_name = ticket.priority.name
    priority = db.session.get(Priority, choice)
    lifecycle.apply_priority(ticket, priority, None, utcnow())
    text = (
        f"This ticket was reopened after the credits paid for {paid_name} priority were refunded, "
        f"so it is back at {priority.name} priority. Raise its priority again for a faster answer."
    )
    db.session.add(Message(ticket=ticket, author=None, body=text, internal=False, source=SOURCE_CREDITS))
    db.session.flush()
    return priority


@dataclass
class SweepResult:
    refunds: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def _due_ids(*conditions):
    query = select(Ticket.id).where(Ticket.paid_credits > 0, *conditions).order_by(Ticket.id)
    return db.session.scalars(query).all()


def sla_sweep(now=None, commit_each=False):
    """Refund every paid ticket whose target passed (or was met late) without a refund yet, and
    warn about every paid ticket newly at risk. Idempotent; safe to run on several machines.
    `commit_each` (the cron command) commits after every ticket, so no lock is held for long."""
    now = now or utcnow()
    result = SweepResult()
    step = db.session.commit if commit_each else db.session.flush
    missed_reply = or_(
        and_(Ticket.first_response_at.is_(None), Ticket.due_at <= now),
        Ticket.first_response_at > Ticket.due_at,
    )
    # A response refund pays back everything paid: a refunded ticket has nothing paid left, and
    # is out of _due_ids, unless it was charged again after it was made free again (free_again).
    for ticket_id in _due_ids(missed_reply):
        result.refunds.append(settle_response(db.session.get(Ticket, ticket_id), now))
        step()
    missed_resolution = and_(
        Ticket.resolution_due_at <= now,
        or_(Ticket.resolved_at.is_(None), Ticket.resolved_at > Ticket.resolution_due_at),
        Ticket.priority_id.in_(select(Priority.id).where(Priority.resolution_refund_percent > 0)),
    )
    refunded = select(LedgerEntry.ticket_id).where(LedgerEntry.idempotency_key.like("sla-resolution:%"))
    for ticket_id in _due_ids(missed_resolution, Ticket.id.notin_(refunded)):
        result.refunds.append(settle_resolution(db.session.get(Ticket, ticket_id), now))
        step()
    result.refunds = [entry for entry in result.refunds if entry is not None]
    result.warnings = _warn(now, step)
    return result


def _warn(now, step):
    """One at-risk warning per paid ticket and target, stamped so it is never sent twice."""
    sent = []
    at_risk = {
        RESPONSE: and_(
            Ticket.first_response_at.is_(None),
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.response_warn_at <= now,
            Ticket.due_at > now,
            Ticket.response_warned_at.is_(None),
        ),
        RESOLUTION: and_(
            Ticket.status.in_((STATUS_NEW, STATUS_OPEN)),
            Ticket.resolution_warn_at <= now,
            Ticket.resolution_due_at > now,
            Ticket.resolution_warned_at.is_(None),
        ),
    }
    stamp = {RESPONSE: "response_warned_at", RESOLUTION: "resolution_warned_at"}
    for target, condition in at_risk.items():
        for ticket_id in _due_ids(condition):
            ticket = lock_ticket(db.session.get(Ticket, ticket_id))
            still = db.session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, condition))
            if still is None:
                continue  # another sweep warned first, or it was answered (resolved) meanwhile
            setattr(ticket, stamp[target], now)
            db.session.flush()
            events.sla_at_risk.send(ticket=ticket, target=target)
            sent.append((ticket.id, target))
            step()
    return sent
