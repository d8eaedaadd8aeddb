"""The agent ticket page: conversation, reply / note / reply-and-resolve, inline field edits."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.conditional import conditional_page
from helpdesk.confirming import Instead, ask_first
from helpdesk.credits import guarantee as credit_guarantee
from helpdesk.credits import panels as credit_panels
from helpdesk.credits import quotes as credit_quotes
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, StaleUpdate
from helpdesk.extensions import db
from helpdesk.formfields import form_state, parse_id
from helpdesk.htmx import hx_redirect_or, is_htmx, render_page_or_block
from helpdesk.notices import mentions
from helpdesk.replies import composer as saved_replies
from helpdesk.tickets import editing as agent_tickets
from helpdesk.tickets import merging, presence, reply_drafts, sla, thread_window, ticket_reads
from helpdesk.tickets.attachments import stage_form_files
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import (
    EDIT_FORMS,
    STATUS_CHOICES,
    AgentNoteForm,
    AgentReplyForm,
    MergeForm,
    new_submission_key,
)
from helpdesk.tickets.models import STATUS_CLOSED, Ticket
from helpdesk.web import field_message, labelled_message, page_layout, paginate

EDITS = {
    "status": agent_tickets.change_status,
    "priority": credit_quotes.change_priority_seen,
    "category": agent_tickets.change_category,
    "assignee": agent_tickets.change_assignee,
    "tags": agent_tickets.set_tags,
}
REPLY_NOTICES = {
    "reply": "Reply sent.",
    "note": "Internal note added.",
    "resolve": "Reply sent and ticket resolved.",
}


ALREADY_POSTED = {
    "reply": "This reply was already sent (it is in the conversation): it was not sent again.",
    "note": "This note was already added (it is in the conversation): it was not added again.",
    "resolve": "This reply was already sent (it is in the conversation): it was not sent again. The ticket is resolved.",
}


def _posted_notice(action, body, ticket, created=True):
    """What the agent is told after a post: what happened, and for a note who its @mentions
    notified and who they did not (notices.mentions.outcome_text); a post that was already
    there (a resent form, or Back and Send again) says so."""
    if not created:
        return ALREADY_POSTED[action]
    if action != "note":
        return REPLY_NOTICES[action]
    return " ".join(filter(None, [REPLY_NOTICES["note"], mentions.outcome_text(body, ticket, current_user)]))


def visible_ticket(ticket_id, load=agent_tickets.load_ticket):
    """The ticket if the policy lets this agent see it; 404 otherwise, whether it exists or not."""
    ticket = load(ticket_id)
    if not policy.can_view_ticket(current_user, ticket):
        abort(404)
    return ticket


def _edits(ticket, choices):
    """The five inline edits as plain values (the template writes the inputs out): the field, its
    label, its current value and its options (None: a text input). A select always has one of its
    options chosen, so none is drawn `required` (HTML allows that only with an empty first option)."""
    categories = [
        (cid, name)
        for cid, name in choices["categories"]
        if cid == ticket.category_id or policy.can_use_category(current_user, cid)
    ]
    agents = choices["agents"]
    if ticket.assignee_id is not None and all(agent_id != ticket.assignee_id for agent_id, _ in agents):
        # Kept by a resolved or closed ticket after they were deactivated or lost its category
        # (lifecycle unassigns them when it opens again): shown, not a select on "Unassigned".
        agents = [*agents, (ticket.assignee_id, f"{ticket.assignee} (may not be assigned now)")]
    labels = agent_tickets.FIELD_LABELS
    return (
        {"name": "status", "label": labels["status"], "value": ticket.status, "options": STATUS_CHOICES},
        {
            "name": "priority",
            "label": labels["priority"],
            "value": ticket.priority_id,
            "options": choices["priorities"],
        },
        {"name": "category", "label": labels["category"], "value": ticket.category_id, "options": categories},
        {
            "name": "assignee",
            "label": labels["assignee"],
            "value": ticket.assignee_id or "",
            "options": [("", "Unassigned"), *agents],
        },
        {
            "name": "tags",
            "label": labels["tags"],
            "value": ", ".join(ticket.tags),
            "options": None,
            "maxlength": 1100,
            "hint": "Separate tags with commas.",
        },
    )


def page_context(ticket, reply_form=None, subscriber_form=None, note_form=None, **extra):
    """Everything the ticket page shows, as plain values (tickets.ticket_reads, credits' panel):
    `ticket` is the page's TicketView (or any object with its id: read afresh)."""
    view = ticket if isinstance(ticket, ticket_reads.TicketView) else ticket_reads.ticket_view(ticket.id)
    view, conversation, earlier = ticket_reads.with_conversation(view, thread_window.latest_shown())
    history, older_history = ticket_reads.recent_history(view.id)
    drafts = _drafts(view, reply_form, note_form)
    context = dict(
        ticket=view,
        clock=sla.clock(view, utcnow()),
        conversation=conversation,
        earlier_messages=earlier,  # left out of a long conversation (thread_window)
        whole_thread=thread_window.whole_thread(),
        history=history,
        older_history=older_history,
        subscriptions=ticket_reads.subscribers(view.id),
        saved_replies=saved_replies.choices_for_ticket(current_user, view),
        edits=_edits(view, ticket_reads.edit_choices(view)),
        panel=credit_panels.agent_panel(current_user, view),
        reply=form_state(reply_form and reply_form.ensure_key(), body=drafts.get(reply_drafts.REPLY, "")),
        note=form_state(note_form and note_form.ensure_key(), body=drafts.get(reply_drafts.NOTE, "")),
        note_staged=(),
        note_upload_errors=(),
        seen=presence.seen_on_page(view),  # the heartbeat's change notice starts here
        heartbeat_seconds=presence.heartbeat_seconds(),
        subscriber=form_state(subscriber_form, email=""),
        reply_notice=None,
        staged=(),
        upload_errors=(),
        notice=None,
        error=None,
        oob=False,
        summary_oob=False,  # the header's summary sent out of band (see render_ticket's callers)
    )
    context.update(extra)
    return context


def _drafts(ticket, reply_form, note_form):
    """What the boxes show afresh ({"reply": ..., "note": ...}): the agent's saved drafts
    (reply_drafts), except in a box whose form is given (what was just posted stays in it)."""
    if reply_form is not None and note_form is not None:
        return {}
    drafts = reply_drafts.draft_bodies(current_user, ticket.id)
    if reply_form is not None:
        drafts.pop(reply_drafts.REPLY, None)
    if note_form is not None:
        drafts.pop(reply_drafts.NOTE, None)
    return drafts


def render_ticket(ticket, block="sidebar", status=200, **kw):
    """The ticket page, or the named block(s) of it for htmx requests (read afresh, after a change)."""
    return render_context(page_context(ticket, **kw), block, status)


def render_context(context, block, status=200):
    """Render the page's context; a page shown afresh gets new resend keys for its reply and note
    forms and for the credit panel's "Log time"."""
    context["reply"]["data"].setdefault("submission_key", new_submission_key())
    context["note"]["data"].setdefault("submission_key", new_submission_key())
    credit_panels.key_time_form(context["panel"])
    return render_page_or_block("tickets/agent/ticket.html", block, status=status, **context)


@bp.get("/tickets/<int:ticket_id>", endpoint="ticket")
def ticket_page(ticket_id):
    view = ticket_reads.ticket_view(ticket_id)
    if not policy.can_view_ticket(current_user, view):  # agents only: the blueprint's guard
        abort(404)
    context = page_context(view)
    return conditional_page(lambda: render_context(context, "ticket_page"), page_layout(), context)


@bp.get("/tickets/<int:ticket_id>/history", endpoint="history")
def history_page(ticket_id):
    """Every change of the ticket, newest first, a page at a time."""
    ticket = visible_ticket(ticket_id)
    page = paginate(agent_tickets.history_query(ticket))
    return render_template(
        "tickets/agent/history.html",
        ticket=ticket,
        page=page,
        entries=agent_tickets.describe_events(page.items),
    )


def _other_box(form_class, prefix):
    """The other box's text and resend key as the htmx request brings them along (hx-include), so
    that re-rendering the conversation after one box was sent keeps what is typed in the other;
    None when they did not come (a plain form post: the reply box shows the saved draft then)."""
    if f"{prefix}-body" not in request.form:
        return None
    return form_class(prefix=prefix, meta={"csrf": False})


@bp.post("/tickets/<int:ticket_id>/reply", endpoint="reply")
def reply(ticket_id):
    """The reply box: a public reply, a reply that resolves, or a saved reply inserted into it.
    (An internal note has its own box, `note` below; "note" is still accepted here.)"""
    ticket = visible_ticket(ticket_id, load=agent_tickets.load_for_write)  # most replies redirect
    form = AgentReplyForm(prefix="reply")
    staged, upload_errors = stage_form_files(form.ensure_key().submission_key.data, form.attachments.name)
    notice = None
    note_form = _other_box(AgentNoteForm, "note")
    if form.action.data == "insert":  # a saved reply into the box; nothing is sent
        form.validate_on_submit()  # only the CSRF token matters: an empty box is fine here
        if not form.errors.get("csrf_token"):
            form.body.errors = []
            notice = saved_replies.insert_into_reply(form, ticket, current_user)
        return render_ticket(
            agent_tickets.load_ticket(ticket_id),
            ["conversation", "sidebar", "summary"],
            reply_form=form,
            note_form=note_form,
            reply_notice=notice,
            staged=staged,
            upload_errors=upload_errors,
            oob=True,
        )
    if form.validate_on_submit() and not upload_errors:
        outcome = perform(
            agent_tickets.reply,
            ticket,
            current_user,
            form.body.data,
            mode=form.action.data,
            key=form.submission_key.data,
        )
        if not outcome.ok:
            form.body.errors.append(outcome.message)
        else:
            notice = _posted_notice(form.action.data, form.body.data, ticket, outcome.value[1])
            if not is_htmx():
                flash(notice, "success")
                return redirect(thread_window.conversation_url("tickets_agent.ticket", ticket_id=ticket_id))
            form, staged = None, ()
    return render_ticket(
        agent_tickets.load_ticket(ticket_id),  # what the page shows, loaded with the row again
        ["conversation", "sidebar", "summary"],
        reply_form=form,
        note_form=note_form,
        reply_notice=notice,
        staged=staged,
        upload_errors=upload_errors,
        oob=True,
    )


@bp.post("/tickets/<int:ticket_id>/note", endpoint="note")
def note(ticket_id):
    """The internal-note box: a note only agents see (its @mentions notify, notices.mentions).
    The reply box's draft stays: it is another text."""
    ticket = visible_ticket(ticket_id, load=agent_tickets.load_for_write)
    form = AgentNoteForm(prefix="note")
    staged, upload_errors = stage_form_files(form.ensure_key().submission_key.data, form.attachments.name)
    notice = None
    if form.validate_on_submit() and not upload_errors:
        outcome = perform(
            agent_tickets.reply,
            ticket,
            current_user,
            form.body.data,
            mode="note",
            key=form.submission_key.data,
            from_reply_box=False,
        )
        if not outcome.ok:
            form.body.errors.append(outcome.message)
        else:
            notice = _posted_notice("note", form.body.data, ticket, outcome.value[1])
            if not is_htmx():
                flash(notice, "success")
                return redirect(thread_window.conversation_url("tickets_agent.ticket", ticket_id=ticket_id))
            form, staged = None, ()
    return render_ticket(
        agent_tickets.load_ticket(ticket_id),
        ["conversation", "sidebar", "summary"],
        reply_form=_other_box(AgentReplyForm, "reply"),
        note_form=form,
        reply_notice=notice,
        note_staged=staged,
        note_upload_errors=upload_errors,
        oob=True,
    )


@bp.post("/tickets/<int:ticket_id>/<any(status, priority, category, assignee, tags):field>", endpoint="edit")
def edit(ticket_id, field):
    ticket = visible_ticket(ticket_id)
    form = EDIT_FORMS[field](prefix=field)
    status = 200
    if not form.validate_on_submit():
        return render_ticket(ticket, error=_refused(form, field, _first_error(form)))
    question = form.version.data == ticket.version and _question(ticket, field, form.value.data)
    asked = question and ask_first(*question)
    if asked:
        return asked
    outcome = perform(EDITS[field], ticket, current_user, form.value.data, form.version.data)
    if not outcome.ok:
        if not is_htmx():
            exc = outcome.error
            status = 409 if isinstance(exc, StaleUpdate) else 403 if isinstance(exc, NotAllowed) else 200
        return render_ticket(ticket, status=status, error=_refused(form, field, outcome.message))
    text = agent_tickets.confirmation(ticket, field, outcome.value)
    if not is_htmx():
        flash(text, "success")
        return redirect(url_for("tickets_agent.ticket", ticket_id=ticket.id))
    return render_ticket(
        ticket, ["sidebar", "summary"], notice={"field": field, "text": text}, summary_oob=True
    )


def _question(ticket, field, value):
    """What to ask before an edit that moves money or ends paid work, or None to go ahead."""
    if field == "priority":
        refund = credit_quotes.lowering_refund(ticket, value)
        if refund:
            amount, owner, name = refund
            return (
                f"Lower #{ticket.id} to {name}?",
                f"{owner} gets {amount:,} credits back.",
                "Lower and refund",
            )
    if field == "status" and value == "closed" and ticket.status != "closed":
        paid = credit_quotes.net_paid(ticket)
        if paid > 0:
            return (
                f"Close #{ticket.id}?",
                f"{ticket.requester.name} paid {paid:,} credits for it; closing refunds nothing, and "
                "nobody can reply until it is reopened.",
                "Close ticket",
            )
    return None


def _refused(form, field, text):
    """The sidebar's error for a refused edit: its message, and what was sent as the form read it
    (a refused text comes back as it was typed)."""
    sent = form.value.raw_data[0] if form.value.raw_data else ""
    return {"field": field, "text": text, "value": sent}


# An inline edit without the ticket version its page showed (hand-made, or a page of another
# release): the agent can only reload.
NO_VERSION = "This page is out of date: reload the ticket and make the change again."


def _first_error(form):
    """The first of an inline edit's errors as the agent reads it, naming the field."""
    for name, errors in form.errors.items():
        if not errors:
            continue
        if name == "version":
            return NO_VERSION
        label = getattr(form, name).label.text
        return field_message(errors[0], label) if name == "value" else labelled_message(errors[0], label)
    return "Check the value and try again."


MERGE_NUMBER_LENGTH = 12  # the merge field's maxlength (tickets/agent/ticket.html)


@bp.post("/tickets/<int:ticket_id>/merge", endpoint="merge")
def merge(ticket_id):
    """Merge this ticket (the duplicate) into the one whose number the agent gives; asks first.
    A number refused (unknown, not visible, another customer's, closed...) comes back in the
    field with the reason beside it, before anything is asked."""
    duplicate = visible_ticket(ticket_id, load=agent_tickets.load_for_write)
    back = url_for("tickets_agent.ticket", ticket_id=ticket_id)
    if not MergeForm().validate_on_submit():
        flash("Your form expired: try again.", "error")
        return redirect(back)
    typed = (request.form.get("merge-into") or "").strip()[:MERGE_NUMBER_LENGTH]
    number = parse_id(typed.lstrip("#"))
    kept = db.session.get(Ticket, number) if number else None
    if kept is None or not policy.can_view_ticket(current_user, kept):
        return _merge_refused(
            duplicate, typed, "Give the number of a ticket you can see to merge this one into."
        )
    if duplicate.merged_into_id == kept.id:  # a confirmation sent again: it is done already
        return _merged_already(duplicate, kept)
    problem = merging.refusal(duplicate, kept, current_user)
    if problem:
        return _merge_refused(duplicate, typed, problem)
    warning = merging.wrong_way(duplicate, kept)
    question = ask_first(
        f"Merge #{duplicate.id} into #{kept.id}?",
        _merge_consequence(duplicate, kept),
        "Merge tickets",
        cancel_url=back,
        warning=warning,
        instead=_merge_instead(duplicate, kept) if warning else None,
    )
    if question is not None:
        return question
    outcome = perform(merging.merge, duplicate, kept, current_user)
    if not outcome.ok:  # changed since the question (merged or closed meanwhile)
        if duplicate.merged_into_id == kept.id:  # read again: the same merge, confirmed twice at once
            return _merged_already(duplicate, kept)
        return _merge_refused(duplicate, typed, outcome.message)
    flash(f"#{duplicate.id} merged into this ticket.", "success")
    target = url_for("tickets_agent.ticket", ticket_id=kept.id)
    return hx_redirect_or(redirect(target, 303), target)


def _merged_already(duplicate, kept):
    """The answer to a confirmation of a merge that is done (sent again, or twice at once by a
    double click, whose second answer is the one the browser shows): the kept ticket."""
    flash(f"#{duplicate.id} was already merged into this ticket.", "success")
    target = url_for("tickets_agent.ticket", ticket_id=kept.id)
    return hx_redirect_or(redirect(target, 303), target)


def _merge_consequence(duplicate, kept):
    """What the merge will do, in the words of the question before it: what moves, what the kept
    ticket takes over (merging.takeover) and what becomes of the duplicate's priority charge
    (guarantee.merge_money), naming the bank's owner as the lowering question does."""
    d, k = f"#{duplicate.id}", f"#{kept.id}"
    parts = [
        f"Its messages, attachments, subscribers and time entries move to {k} “{kept.subject}”, and {d}"
        " is closed."
    ]
    changes = merging.takeover(duplicate, kept)
    if changes.reopens is not None:
        parts.append(
            f"{k} ({kept.status_label}) opens again: {d} brings a message from {changes.reopens.name}"
            " that no agent has answered."
        )
    if changes.priority is not None:
        parts.append(f"{k} takes {d}'s {changes.priority.name} priority, at no charge to the customer.")
    if changes.assignee is not None:
        parts.append(f"{changes.assignee.name}, who has {d}, is assigned to {k}.")
    elif changes.unassignable is not None:
        parts.append(
            f"{k} stays unassigned: {changes.unassignable.name}, who has {d}, cannot work"
            f" {kept.category.name} tickets."
        )
    money = credit_guarantee.merge_money(duplicate)
    if money is not None and money.refunded:
        parts.append(
            f"{money.owner} gets the {money.credits:,} credits paid for {d}'s {duplicate.priority.name}"
            " priority back: no agent had answered it."
        )
    elif money is not None:
        parts.append(
            f"The {money.credits:,} credits {money.owner} paid for {d}'s {duplicate.priority.name} priority"
            " stay paid: an agent answered it, so that priority was delivered."
        )
    return " ".join(parts)


def _merge_instead(duplicate, kept):
    """The other direction (keep the duplicate, merge the other into it), for a duplicate that is
    the ticket with the conversation (merging.wrong_way), when that merge is allowed; else None."""
    if merging.refusal(kept, duplicate, current_user):
        return None
    return Instead(
        f"Merge #{kept.id} into #{duplicate.id} instead",
        url_for("tickets_agent.merge", ticket_id=kept.id),
        (("merge-into", str(duplicate.id)),),
    )


def _merge_refused(duplicate, typed, text):
    """The ticket page (its sidebar for htmx) with the merge field holding what was typed and
    the reason it was refused. A closed ticket's page has no merge field (sent from a page shown
    before it closed): the reason is a message at the top of its page then."""
    if duplicate.status == STATUS_CLOSED:
        flash(text, "error")
        back = url_for("tickets_agent.ticket", ticket_id=duplicate.id)
        return hx_redirect_or(redirect(back, 303), back)
    return render_ticket(duplicate, error={"field": "merge", "text": text, "value": typed})
