"""Agent credit panel and time entries: /agent/credits/... (pages that double as htmx fragments).

The agent console's ticket page shows the panel in its sidebar (`credits.panels.agent_panel`,
`credits/agent/_panel.html`); the time entry forms post here and get the panel back (htmx), or
come back to the panel's own page, which is also the way to it without JavaScript.
For just the low-balance alert in the ticket header: the `ticket_credit_alert(ticket)` template
global and `{% include "credits/agent/_low_balance_alert.html" %}` (it reads `low_alert`).
"""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from helpdesk import policy, staleness
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits import time_entries
from helpdesk.credits.blueprints import agent_bp as bp
from helpdesk.credits.forms import EditTimeForm, LogTimeForm, TimerStopForm
from helpdesk.credits.models import CreditAccount, TimeEntry
from helpdesk.credits.panels import agent_panel, key_time_form
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx, render_page_or_block
from helpdesk.tickets.forms import new_submission_key
from helpdesk.web import page_number


@bp.app_template_global("ticket_credit_alert")
def ticket_credit_alert(ticket):
    """The low-balance alert of the bank paying for `ticket`, for agents working it (or None)."""
    return credit_alerts.current_low_alert(credit_quotes.ticket_account(ticket))


def _ticket(ticket_id):
    return policy.get_ticket_or_404(current_user, ticket_id)


def _panel(ticket, status=200, **kw):
    """The panel alone (htmx) or on its own page, at the page of time entries the URL asks for
    (?page=: the panel's own pager, and the forms of the entries on a later page carry theirs)."""
    panel = key_time_form(agent_panel(current_user, ticket, page=page_number(request.args), **kw))
    return render_page_or_block(
        "credits/agent/ticket.html", "panel", status=status, ticket=ticket, panel=panel
    )


def _after_change(ticket, action, **shown):
    """Run a service call, commit, then show what came of it (`_show_outcome`)."""
    return _show_outcome(ticket, perform(action), **shown)


def _show_outcome(ticket, outcome, timer_form=None, other_timers=(), said=None, stopping=None):
    """Show the panel (htmx) or go back to the ticket page's panel (without JavaScript) after a
    committed or refused service call, saying so when the time could not be charged. A refused
    timer stop keeps what was typed in its form (`timer_form`; `stopping`: a colleague's timer's
    entry id). `said(value)`, after the commit: the entry the call returned and what to tell the
    agent of it (None: nothing beyond "saved")."""
    error = notice = None
    if not outcome.ok:
        error = outcome.message
    else:
        entry, notice = said(outcome.value) if said else (outcome.value, None)
        if notice is None and getattr(entry, "unbilled", False):
            error = unbilled_text(entry)
    if is_htmx() or not outcome.ok:
        kept = timer_form if not outcome.ok else None
        return _panel(
            ticket, error=error, notice=notice, timer_form=kept, other_timers=other_timers, stopping=stopping
        )
    if error:
        flash(error, "error")
    else:
        flash(notice or "Time entries saved.", "info" if notice else "success")
    if other_timers:
        flash(f"Your timer is also running on {', '.join(f'#{n}' for n in other_timers)}.", "info")
    page = page_number(request.args)
    if page > 1:  # an entry changed on a later page of the panel: back to that page
        return redirect(
            url_for("credits_agent.panel", ticket_id=ticket.id, page=page, _anchor="credit-panel")
        )
    return redirect(url_for("tickets_agent.ticket", ticket_id=ticket.id, _anchor="credit-panel"))


def unbilled_text(entry):
    """What the agent is told when the time they logged could not be charged."""
    account = db.session.get(CreditAccount, entry.account_id) if entry.account_id else None
    where = f"{account.owner_name}'s bank has {account.balance:,} credits" if account else "there is no bank"
    return f"Saved, but these {entry.minutes} min could not be charged: {where}. The admins have been told."


def moved_text(entry, billed_before):
    """What an edit or a deletion did to the bank, when it charged or gave back credits (None when
    it did not): an unbilled entry edited down to what the bank can pay is charged, and said so."""
    moved = entry.billed - billed_before
    if not moved:
        return None
    bank = db.session.get(CreditAccount, entry.account_id).owner_name
    minutes = "Deleted" if entry.deleted_at is not None else f"Saved: {entry.minutes} min"
    if moved < 0:
        return f"{minutes}. {-moved:,} credits went back to {bank}'s bank."
    before = " (this time could not be charged before)" if not billed_before else ""
    return f"{minutes}, {moved:,} credits charged to {bank}'s bank{before}."


@bp.get("/tickets/<int:ticket_id>")
def panel(ticket_id):
    return _panel(_ticket(ticket_id))


@bp.post("/tickets/<int:ticket_id>/time")
def log_time(ticket_id):
    ticket = _ticket(ticket_id)
    form = LogTimeForm()
    if not form.validate_on_submit():
        old_page = None
        if form.submission_key.errors:  # a page from before the keys: nothing to tell a resend by
            form.submission_key.data = new_submission_key()
            old_page = "Nothing was logged: this form came from an old page. Check it and send it again."
        return _panel(ticket, form=form, error=old_page)
    minutes, note = form.minutes.data, form.note.data
    return _after_change(
        ticket,
        lambda: time_entries.log_time(ticket, current_user, minutes, note, form.submission_key.data),
        said=_logged_text,
    )


def _logged_text(logged):
    entry, created = logged
    if created:
        return entry, None
    return entry, (
        f"Already logged: these {entry.minutes} min were logged from this form before. "
        "Nothing was logged or charged again."
    )


@bp.post("/tickets/<int:ticket_id>/timer/start")
def start_timer(ticket_id):
    ticket = _ticket(ticket_id)
    # Said, not stopped: stopping them would charge other tickets' customers unasked.
    others = time_entries.other_running_timers(ticket, current_user)
    return _after_change(ticket, lambda: time_entries.start_timer(ticket, current_user), other_timers=others)


@bp.post("/tickets/<int:ticket_id>/timer/stop")
def stop_timer(ticket_id):
    ticket = _ticket(ticket_id)
    form = TimerStopForm()
    entry = time_entries.running_timer(ticket, current_user)
    if entry is None:
        return _panel(ticket)
    if not form.validate_on_submit():
        return _panel(ticket, timer_form=form)
    action = lambda: time_entries.stop_timer(entry, current_user, form.note.data, minutes=form.minutes.data)  # noqa: E731
    return _after_change(ticket, action, timer_form=form)


@bp.post("/time/<int:entry_id>/stop")
def stop_colleague_timer(entry_id):
    """An admin stops another agent's running timer (one left running by someone away): charged as
    their own stop would charge it, or the minutes the admin enters; asked first."""
    entry = _entry(entry_id)
    ticket = entry.ticket
    if not entry.running:  # stopped meanwhile, or this form sent twice
        said = "This timer is already stopped: nothing more was charged."
        return _after_change(ticket, lambda: entry, said=lambda e: (e, said))
    form = TimerStopForm()
    if not form.validate_on_submit():
        return _panel(ticket, timer_form=form, stopping=entry.id)
    ending = time_entries.ending_of(entry, minutes=form.minutes.data)
    if ending.minutes is not None:  # past 24 hours without minutes typed: the service asks for them
        asked = ask_first(f"Stop {entry.agent.name}'s timer on #{ticket.id}?", ending.announced, "Stop timer")
        if asked:
            return asked
    action = lambda: time_entries.stop_timer(entry, current_user, form.note.data, minutes=form.minutes.data)  # noqa: E731
    return _after_change(ticket, action, timer_form=form, stopping=entry.id)


def _entry(entry_id):
    """The entry, if the agent may edit or delete it (theirs, or any for an admin); else 404."""
    entry = db.session.get(TimeEntry, entry_id)
    if entry is None or not policy.can_change_time_entry(current_user, entry):
        abort(404)
    return entry


@bp.post("/time/<int:entry_id>/edit")
def edit_time(entry_id):
    entry = _entry(entry_id)
    form = EditTimeForm()
    if not form.validate_on_submit():
        return _panel(entry.ticket, form=form)
    billed, seen = entry.billed, staleness.seen_number(form.revision.data)
    outcome = perform(
        time_entries.edit_entry, entry, current_user, form.minutes.data, form.note.data, seen=seen
    )
    if isinstance(outcome.error, time_entries.TimeEntryStale):
        return _stale_entry(entry, form, outcome.error.changes)
    return _show_outcome(entry.ticket, outcome, said=lambda e: (e, moved_text(e, billed)))


def _stale_entry(entry, form, changes):
    """The edit sent from a panel shown before someone else edited or deleted the entry: nothing
    was saved or charged. Say who changed what; a field they changed shows its stored value unless
    this form changed it too (it then keeps what was typed), and the row carries the entry's
    current revision, so saving again goes through (a deleted entry has no form: what was typed
    is said instead)."""
    minutes, note, changed = time_entries.kept_after(
        entry, changes, form.minutes.data, (form.note.data or "").strip()
    )
    typed = {"entry_id": entry.id, "minutes": minutes, "note": note}
    what = ["deleted"] if entry.deleted_at is not None else []
    if "minutes" in changed:
        what.append(f"{entry.minutes} min")
    if "note" in changed:
        what.append(f"note “{entry.note}”" if entry.note else "note removed")
    then = "Check the values below and save again."
    if entry.deleted_at is not None:
        kept = f" “{typed['note']}”" if typed["note"] else ""
        then = f"You had typed {typed['minutes']} min{kept}: log them again if they should stand."
    message = staleness.refusal(
        f"{entry.agent.name}'s time entry",
        what=", ".join(what),
        opened="this page",
        then=then,
        **staleness.recorded(changes),
    )
    return _panel(entry.ticket, status=staleness.conflict_status(), error=message, editing=typed)


@bp.post("/time/<int:entry_id>/delete")
def delete_time(entry_id):
    entry = _entry(entry_id)
    if entry.deleted_at is None:
        refund = ""
        if entry.billed:  # refunded to the bank that was charged, whatever its plan is now
            bank = db.session.get(CreditAccount, entry.account_id).owner_name
            refund = f" and the {entry.billed:,} credits it was charged go back to {bank}'s bank"
        asked = ask_first(
            f"Delete {entry.minutes or 0} min logged by {entry.agent.name} on #{entry.ticket_id}?",
            f"The entry stays in the audit trail{refund}.",
            "Delete time entry",
        )
        if asked:
            return asked
    billed = entry.billed
    action = lambda: time_entries.delete_entry(entry, current_user)  # noqa: E731
    return _after_change(entry.ticket, action, said=lambda e: (e, moved_text(e, billed)))
