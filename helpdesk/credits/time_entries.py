"""Time mode: agents log time on tickets; each entry charges the bank at the plan's minute rate.

Guarantees of this module:
- an entry and its charge are written in one transaction; logged time is never lost: when the
  bank cannot cover it, the entry is kept, marked unbilled, and admins are alerted;
- a "Log time" form logs and charges its minutes once, however often it is sent (its
  submission key);
- an entry is edited or deleted only by the agent who logged it, or by an admin; an edit from a
  form opened before another edit or deletion of the entry is refused (TimeEntryStale), so the
  agent and an admin correcting one entry cannot silently charge the old minutes again;
- an edit or a deletion books a correcting ledger entry (never an UPDATE of an old one) and an
  audit revision naming the actor; each correction is keyed `time:<entry>:<revision>`, so a
  retried request cannot book it twice, and says on the statement what changed
  ("Correction: 30 → 10 min of agent time on ticket #36");
- only time-mode plans with credits are charged; on other plans time is recorded, not billed;
- an entry is priced once, when it is logged or its timer stopped (`_price`): the bank that pays
  for its ticket then and its plan's rate then (0 when that plan does not bill time). An edit of
  its minutes charges or refunds only the difference, at that rate, to that bank; a deletion gives
  back what it was charged; whatever the bank's plan or rate is by then. An entry logged while the
  plan did not bill time stays unbilled; an edit of the note alone moves no money;
- a timer never runs on after its agent may no longer work its ticket (deactivated, no longer an
  agent, the category taken away): it is stopped in the same transaction and charged as a stop
  would charge it (`stop_lost_timers`). One that ran longer than an entry may be is stopped with 0
  minutes ("to be entered"), charged nothing, for an admin to enter what was worked (an edit);
- an admin may stop a colleague's running timer (policy.can_change_time_entry).
"""

import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import select

from helpdesk import policy
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import (
    ALERT_UNBILLED_TIME,
    BILLING_TIME,
    KIND_CHARGE,
    KIND_REFUND,
    CreditAccount,
    TimeEntry,
    TimeEntryRevision,
)
from helpdesk.credits.quotes import ticket_account
from helpdesk.dbtypes import utcnow
from helpdesk.errors import InsufficientCredits, NotAllowed, StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import add_unless_twin, lock_row

MAX_MINUTES = 24 * 60


def _check(actor, ticket):
    if not policy.can_log_time(actor, ticket):
        raise NotAllowed("Only agents working this ticket can log time on it.")


def _check_change(actor, entry):
    if not policy.can_change_time_entry(actor, entry):
        raise NotAllowed("Only the agent who logged this time, or an admin, can change it.")


def _check_minutes(minutes):
    if not isinstance(minutes, int) or minutes <= 0 or minutes > MAX_MINUTES:
        raise ValidationFailed(f"Enter between 1 and {MAX_MINUTES} minutes.")


def billing_account(ticket):
    """The bank a ticket's time is charged to, or None when its plan does not bill time."""
    account = ticket_account(ticket)
    if account is None or not account.plan.credits_enabled or account.plan.billing_mode != BILLING_TIME:
        return None
    return account


def _price(entry):
    """Fix, once, what `entry` costs a minute and which bank pays: when it is logged or its timer
    stopped, the bank paying for its ticket and its plan's rate (0 and no bank when the plan does
    not bill time). Later corrections use these, whatever the bank's plan or rate becomes."""
    if entry.minute_rate is not None:
        return
    account = billing_account(entry.ticket)
    if account is not None:
        # The bank's row first: naming it on the entry takes PostgreSQL's share lock of the foreign
        # key, and two loggers holding that lock then both waiting to lock the bank deadlock.
        account = credits.lock_account(account.id)
    entry.account_id = account.id if account is not None else None
    entry.minute_rate = account.plan.minute_rate if account is not None else 0
    db.session.flush()


def _bill(entry, actor):
    """Move the entry's billed amount to its minutes at its own rate (`_price`), on the bank it
    was priced on, with one correcting ledger entry."""
    minutes = 0 if entry.deleted_at is not None else (entry.minutes or 0)
    if not entry.minute_rate or entry.account_id is None:
        return None  # priced when its plan did not bill time: recorded, never charged
    account = credits.lock_account(entry.account_id)
    delta = minutes * entry.minute_rate - entry.billed
    if delta == 0:
        entry.unbilled = False
        return None
    kind = KIND_CHARGE if delta > 0 else KIND_REFUND
    try:
        ledger, _ = credits.post_entry(
            account.id,
            -delta,
            kind,
            idempotency_key=f"time:{entry.id}:{entry.revision}",
            actor=actor,
            ticket=entry.ticket,
            # The note stays internal: customers see the minutes on their statement, not agents' notes.
            memo=_memo(entry, minutes),
        )
    except InsufficientCredits as exc:
        entry.unbilled = True
        text = (
            f"{minutes} min logged by {entry.agent.name} on ticket #{entry.ticket_id} could not be"
            f" charged: {exc}"
        )
        open_alert = credit_alerts.open_unbilled_alert(entry.ticket_id)
        if open_alert is None:
            credit_alerts.record_alert(account, ALERT_UNBILLED_TIME, text, ticket=entry.ticket)
        else:  # one open alert (and one mail) per ticket, however many entries follow
            open_alert.text, open_alert.balance = f"{text} (and earlier entries)"[:500], account.balance
        return None
    entry.billed -= ledger.amount
    entry.unbilled = False
    return ledger


def _memo(entry, minutes):
    """What the customer's statement says of a charge or correction for `entry`, now `minutes`:
    its minutes when nothing was charged for it before, else from what to what they went."""
    what = f"min of agent time on ticket #{entry.ticket_id}"
    before = charged_minutes(entry)
    if not before:
        return f"{minutes} {what}"
    deleted = " (entry deleted)" if entry.deleted_at is not None else ""
    return f"Correction: {before} → {minutes} {what}{deleted}"


def charged_minutes(entry):
    """The minutes the bank was last charged for `entry` (0 for none): those of its latest
    revision that booked a ledger entry. Not its minutes: an edit the bank could not cover kept
    the charge of the minutes before it."""
    if not entry.billed:
        return 0
    last = db.session.scalar(
        select(TimeEntryRevision.new_minutes)
        .where(TimeEntryRevision.entry_id == entry.id, TimeEntryRevision.ledger_entry_id.is_not(None))
        .order_by(TimeEntryRevision.id.desc())
        .limit(1)
    )
    return last or 0


def _revise(entry, actor, action, old_minutes, old_note, ledger):
    db.session.add(
        TimeEntryRevision(
            entry_id=entry.id,
            actor_id=actor.id if actor else None,
            action=action,
            old_minutes=old_minutes,
            new_minutes=None if entry.deleted_at else entry.minutes,
            old_note=old_note,
            new_note=None if entry.deleted_at else entry.note,
            ledger_entry_id=ledger.id if ledger is not None else None,
        )
    )
    db.session.flush()


def log_time(ticket, actor, minutes, note="", submission_key=None):
    """Record `minutes` of work by hand and charge them. Returns (entry, created); the entry is
    unbilled when the bank could not cover it.

    With the form's `submission_key`, one form logs once: sent again with the same minutes and
    note (a double click, back and resubmit), it returns the entry it made, created False, and
    charges nothing more, even after that entry was edited or deleted; a twin sent at the same
    moment finds it too. The same key with other minutes or another note is another entry: it
    comes from a kept copy of the page (a revalidated page keeps its key), as with replies.
    """
    _check(actor, ticket)
    _check_minutes(minutes)
    note = (note or "").strip()[:500]
    key = _entry_key(ticket, minutes, note, submission_key)
    existing = _logged_with(actor, key)
    if existing is not None:
        return existing, False
    entry = TimeEntry(ticket=ticket, agent=actor, minutes=minutes, note=note, submission_key=key)
    entry, created = add_unless_twin(entry, lambda: _logged_with(actor, key))
    if not created:
        return entry, False
    _price(entry)
    ledger = _bill(entry, actor)
    _revise(entry, actor, "created", None, None, ledger)
    return entry, True


def _entry_key(ticket, minutes, note, submission_key):
    """The key an entry keeps: a digest of the form's key and what it logged (None without a key)."""
    if not submission_key:
        return None
    content = f"{submission_key}\0{ticket.id}\0{minutes}\0{note}".encode()
    return hashlib.sha256(content).hexdigest()  # 64 characters: TimeEntry.submission_key's size


def _logged_with(agent, key):
    if key is None:
        return None
    return db.session.scalar(
        select(TimeEntry).where(TimeEntry.agent_id == agent.id, TimeEntry.submission_key == key)
    )


def _running(agent, *columns):
    """A SELECT of `columns` (the entries themselves by default) of `agent`'s running timers."""
    return select(*(columns or (TimeEntry,))).where(
        TimeEntry.agent_id == agent.id, TimeEntry.minutes.is_(None), TimeEntry.deleted_at.is_(None)
    )


def running_timer(ticket, agent):
    return db.session.scalar(_running(agent).where(TimeEntry.ticket_id == ticket.id))


def other_running_timers(ticket, agent):
    """The ids of the other tickets on which `agent` has a timer running, oldest first."""
    query = _running(agent, TimeEntry.ticket_id).where(TimeEntry.ticket_id != ticket.id)
    return db.session.scalars(query.order_by(TimeEntry.id)).all()


def start_timer(ticket, actor, now=None):
    """Start the agent's timer on a ticket (the running one if already started)."""
    _check(actor, ticket)
    entry = running_timer(ticket, actor)
    if entry is None:
        entry = TimeEntry(ticket=ticket, agent=actor, started_at=now or utcnow())
        db.session.add(entry)
        db.session.flush()
    return entry


def elapsed_minutes(entry, now=None):
    """The whole minutes a running timer has run, rounded up, at least 1; None past MAX_MINUTES
    (a forgotten timer: its minutes are not charged by guess)."""
    elapsed = max(1, math.ceil(((now or utcnow()) - entry.started_at).total_seconds() / 60))
    return elapsed if elapsed <= MAX_MINUTES else None


def stop_timer(entry, actor, note="", now=None, minutes=None):
    """Stop a running timer: the minutes since it started, whole and rounded up (or `minutes`, as
    the agent corrected them), charged like a hand-made entry. A timer left running longer than
    an entry may be (a forgotten one) is not charged by guess: the agent says how long they worked.
    The agent stops their own timer; an admin may stop a colleague's (can_change_time_entry).
    A timer already stopped (a form sent twice) is returned as it is: nothing is charged again."""
    if entry.agent_id == actor.id:
        _check(actor, entry.ticket)
    else:
        _check_change(actor, entry)
    _lock(entry)
    if not entry.running:
        return entry
    if minutes is None:
        minutes = elapsed_minutes(entry, now)
        if minutes is None:
            whose = "you" if entry.agent_id == actor.id else entry.agent.name
            raise ValidationFailed(
                f"This timer has run for more than 24 hours: enter the minutes {whose} worked to stop it."
            )
    _check_minutes(minutes)
    entry.minutes = minutes
    entry.note = (note or entry.note or "").strip()[:500]
    db.session.flush()
    _price(entry)
    ledger = _bill(entry, actor)
    _revise(entry, actor, "stopped", None, None, ledger)
    return entry


def _lock(entry):
    """Reload `entry` under a row lock, so two requests stopping one timer charge it once: the
    second finds it stopped."""
    db.session.flush()
    lock_row(entry)  # the row alone: its agent is joined when loaded


@dataclass(frozen=True)
class TimerEnding:
    """A running timer about to be stopped, or just stopped, because its agent may no longer work
    its ticket; what it charges (or charged). `minutes` None: it ran more than 24 hours, so it is
    stopped with its minutes to be entered by an admin, charged nothing."""

    entry_id: int
    ticket_id: int
    agent_name: str
    started_at: object
    minutes: int | None
    credits: int  # charged, or about to be (minutes x the plan's rate)
    bank: str | None  # the owner of the bank that pays for the time; None when time is not billed
    unbilled: bool = False  # stopped, but the bank could not cover it

    def _start(self):
        from helpdesk.web import exact_label, user_zone

        return f"{self.agent_name}'s timer on #{self.ticket_id}, running since {exact_label(self.started_at, user_zone())}"

    @property
    def announced(self):
        """What a confirmation says will happen to it."""
        if self.minutes is None:
            return (
                f"{self._start()}, has run for more than 24 hours: it will be stopped without charging"
                " anything, for an admin to enter the minutes worked on the ticket's credit panel."
            )
        if self.bank is None:
            return f"{self._start()}, will be stopped and its {self.minutes} min recorded (this plan does not bill time)."
        return (
            f"{self._start()}, will be stopped and {self.minutes} min ({self.credits:,} credits)"
            f" charged to {self.bank}'s bank."
        )

    @property
    def said(self):
        """What the result message says was done."""
        head = f"{self.agent_name}'s timer on #{self.ticket_id} was stopped"
        if self.minutes is None:
            return (
                f"{head} without charging anything: it had run for more than 24 hours. Enter the minutes"
                " worked on the ticket's credit panel."
            )
        if self.bank is None:
            return f"{head}: {self.minutes} min recorded (this plan does not bill time)."
        if self.unbilled:
            return f"{head}: {self.minutes} min, which {self.bank}'s bank could not cover; the admins have been told."
        return f"{head}: {self.minutes} min, {self.credits:,} credits charged to {self.bank}'s bank."


def running_timers(agent):
    """`agent`'s running timers, oldest first."""
    return db.session.scalars(_running(agent).order_by(TimeEntry.id)).all()


def ending_of(entry, now=None, minutes=None):
    """What stopping `entry` charges (a TimerEnding; `minutes` as typed, else those since it
    started), or what stopping it charged once it is stopped."""
    if minutes is None:
        minutes = entry.minutes if not entry.running else elapsed_minutes(entry, now)
    if entry.running:
        account = billing_account(entry.ticket)
    else:  # the bank it was priced on, if its plan billed time then
        account = db.session.get(CreditAccount, entry.account_id) if entry.minute_rate else None
    return TimerEnding(
        entry_id=entry.id,
        ticket_id=entry.ticket_id,
        agent_name=entry.agent.name,
        started_at=entry.started_at,
        minutes=minutes or None,
        credits=entry.billed
        if not entry.running
        else (minutes or 0) * (account.plan.minute_rate if account else 0),
        bank=account.owner_name if account is not None else None,
        unbilled=entry.unbilled,
    )


def timers_ending(user, *, role, active, now=None):
    """What a confirmation announces before `user` becomes `role` and `active` (TimerEnding, oldest
    first): the running timers on tickets they could then no longer log time on."""
    return [
        ending_of(e, now)
        for e in running_timers(user)
        if not policy.could_log_time_as(user, e.ticket, role=role, active=active)
    ]


def stop_lost_timers(user, actor, now=None):
    """Receiver of events.agent_access_reduced: stop `user`'s running timers on the tickets they
    may no longer log time on, charged as a stop charges them, by `actor` (the admin who made the
    change; the timers' history names them). A timer past 24 hours gets 0 minutes, charged nothing:
    an admin enters the minutes (edit_entry). Returns the stopped timers (TimerEnding)."""
    lost = [entry for entry in running_timers(user) if not policy.can_log_time(user, entry.ticket)]
    return _stop_lost(lost, actor, now)


def stop_timers_leaving(ticket, into, actor, now=None):
    """Before `ticket`'s time entries move to `into` (a merge): stop, as stop_lost_timers does and
    on `ticket`'s bank, the running timers of agents who may not log time on `into` (moved, they
    ran on where their agent could neither see nor stop them) and of agents whose timer runs on
    `into` too (moved, the agent had two there: the credit panel shows one, and stopping it left
    the other running). Returns them (TimerEnding)."""
    running = db.session.scalars(
        select(TimeEntry)
        .where(
            TimeEntry.ticket_id.in_((ticket.id, into.id)),
            TimeEntry.minutes.is_(None),
            TimeEntry.deleted_at.is_(None),
        )
        .order_by(TimeEntry.id)
    ).all()
    timing_into = {entry.agent_id for entry in running if entry.ticket_id == into.id}
    leaving = [
        entry
        for entry in running
        if entry.ticket_id == ticket.id
        and (entry.agent_id in timing_into or not policy.can_log_time(entry.agent, into))
    ]
    return _stop_lost(leaving, actor, now)


def _stop_lost(entries, actor, now):
    stopped = []
    for entry in entries:
        _lock(entry)
        if not entry.running:  # stopped meanwhile
            continue
        entry.minutes = elapsed_minutes(entry, now) or 0
        db.session.flush()
        _price(entry)  # a timer stopped "to be entered" too: its minutes are charged at this rate
        ledger = _bill(entry, actor) if entry.minutes else None
        _revise(entry, actor, "stopped", None, None, ledger)
        stopped.append(ending_of(entry))
    return tuple(stopped)


class TimeEntryStale(StaleUpdate):
    """The entry was edited or deleted after the form was opened: nothing was saved. `changes`
    are the TimeEntryRevisions of those edits and deletions, oldest first."""

    def __init__(self, entry, changes):
        self.entry, self.changes = entry, changes
        super().__init__("This time entry was changed after you opened the page: nothing was saved.")


def _changes_since(entry, seen):
    """The revisions that made `entry.revision` go past `seen`: each edit and deletion bumps it by
    one and writes one revision, so they are its edits and deletions after the first `seen`."""
    changes = db.session.scalars(
        select(TimeEntryRevision)
        .where(TimeEntryRevision.entry_id == entry.id, TimeEntryRevision.action.in_(("edited", "deleted")))
        .order_by(TimeEntryRevision.id)
    ).all()
    return changes[seen:]


def kept_after(entry, changes, minutes, note):
    """(minutes, note, fields changed meanwhile) of an edit refused as stale (`changes`: the
    entry's revisions since the form was shown): a field someone else changed shows what is
    stored now unless this agent had changed it too; "minutes" and "note" name the fields the
    others changed. A deleted entry keeps what was typed."""
    first = changes[0] if changes else None
    changed = []
    if entry.deleted_at is None and first is not None:
        if entry.minutes != first.old_minutes:
            changed.append("minutes")
            if minutes == first.old_minutes:
                minutes = entry.minutes
        if (entry.note or "") != (first.old_note or ""):
            changed.append("note")
            if note == (first.old_note or ""):
                note = entry.note
    return minutes, note, changed


def edit_entry(entry, actor, minutes, note, seen=None):
    """Change an entry's minutes or note; the ledger gets a correcting entry for the difference in
    minutes, at the entry's own rate (`_price`). A note changed alone moves no money.
    A timer stopped with its minutes to be entered (0, see stop_lost_timers) gets them this way.
    `seen`: the entry's `revision` the form showed (TimeEntryStale, nothing saved or charged, when
    it was edited or deleted since; None: not checked). The row is locked until commit."""
    _check_change(actor, entry)
    _lock(entry)
    if seen is not None and seen != entry.revision:
        raise TimeEntryStale(entry, _changes_since(entry, seen))
    _check_minutes(minutes)
    if entry.deleted_at is not None or entry.running:
        raise ValidationFailed("Only a stopped, not deleted entry can be edited.")
    old_minutes, old_note = entry.minutes, entry.note
    entry.minutes, entry.note = minutes, (note or "").strip()[:500]
    entry.revision += 1
    db.session.flush()
    _price(entry)  # an entry from before prices were kept (none are left after migration 0048)
    ledger = _bill(entry, actor) if minutes != old_minutes else None
    _revise(entry, actor, "edited", old_minutes, old_note, ledger)
    return entry


def delete_entry(entry, actor):
    """Delete an entry: it stays in the audit trail, and what it was charged is refunded to the
    bank that was charged, whatever that bank's plan is now."""
    _check_change(actor, entry)
    if entry.deleted_at is not None:
        return entry
    entry.deleted_at = utcnow()
    entry.revision += 1
    db.session.flush()
    ledger = _bill(entry, actor)
    _revise(entry, actor, "deleted", entry.minutes, entry.note, ledger)
    return entry
