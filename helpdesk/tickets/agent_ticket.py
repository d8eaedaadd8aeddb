"""The agent ticket page: conversation, reply / note / reply-and-resolve, inline field edits."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.credits import panels as credit_panels
from helpdesk.credits import quotes as credit_quotes
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, StaleUpdate
from helpdesk.htmx import is_htmx, render_page_or_block
from helpdesk.tickets import editing as agent_tickets
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import queue, sla, subscribers
from helpdesk.tickets.attachments import stage_form_files
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import EDIT_FORMS, AgentReplyForm, SubscriberForm, select_choices
from helpdesk.web import paginate

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


def visible_ticket(ticket_id):
    """The ticket if the policy lets this agent see it; 404 otherwise, whether it exists or not."""
    ticket = agent_tickets.load_ticket(ticket_id)
    if not policy.can_view_ticket(current_user, ticket):
        abort(404)
    return ticket


def _edit_forms(ticket):
    values = {
        "status": ticket.status,
        "priority": ticket.priority_id,
        "category": ticket.category_id,
        "assignee": ticket.assignee_id,
        "tags": ", ".join(ticket.tag_names),
    }
    forms = {
        name: cls(formdata=None, prefix=name, value=values[name], version=ticket.version)
        for name, cls in EDIT_FORMS.items()
    }
    forms["priority"].value.choices = select_choices((p.id, p.name) for p in tickets.all_priorities())
    forms["category"].value.choices = select_choices(agent_tickets.movable_categories(current_user, ticket))
    forms["assignee"].value.choices = select_choices(
        [("", "Unassigned"), *agent_tickets.assignable_agents(ticket)]
    )
    return forms


def render_ticket(ticket, block="sidebar", status=200, reply_form=None, **extra):
    """The ticket page, or the named block(s) of it for htmx requests."""
    history, older_history = agent_tickets.recent_history(ticket)
    context = dict(
        ticket=ticket,
        overdue=queue.is_overdue(ticket, utcnow()),
        clock=sla.clock(ticket, utcnow()),
        conversation=agent_tickets.conversation(ticket),
        history=history,
        older_history=older_history,
        subscriptions=subscribers.subscribers_of(ticket),
        panel=credit_panels.agent_panel(current_user, ticket),
        forms=_edit_forms(ticket),
        reply_form=(reply_form or AgentReplyForm(formdata=None, prefix="reply")).ensure_key(),
        subscriber_form=extra.pop("subscriber_form", None)
        or SubscriberForm(formdata=None, prefix="subscriber"),
        staged=(),
        upload_errors=(),
        notice=None,
        error=None,
        oob=False,
    )
    context.update(extra)
    return render_page_or_block("tickets/agent/ticket.html", block, status=status, **context)


@bp.get("/tickets/<int:ticket_id>", endpoint="ticket")
def ticket_page(ticket_id):
    return render_ticket(visible_ticket(ticket_id), block="ticket_page")


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


@bp.post("/tickets/<int:ticket_id>/reply", endpoint="reply")
def reply(ticket_id):
    ticket = visible_ticket(ticket_id)
    form = AgentReplyForm(prefix="reply")
    staged, upload_errors = stage_form_files(form.ensure_key().submission_key.data, form.attachments.name)
    notice = None
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
            notice = REPLY_NOTICES[form.action.data]
            if not is_htmx():
                flash(notice, "success")
                return redirect(url_for("tickets_agent.ticket", ticket_id=ticket.id, _anchor="conversation"))
            form, staged = None, ()
    return render_ticket(
        ticket,
        ["conversation", "sidebar"],
        reply_form=form,
        reply_notice=notice,
        staged=staged,
        upload_errors=upload_errors,
        oob=True,
    )


@bp.post("/tickets/<int:ticket_id>/<any(status, priority, category, assignee, tags):field>", endpoint="edit")
def edit(ticket_id, field):
    ticket = visible_ticket(ticket_id)
    form = EDIT_FORMS[field](prefix=field)
    status = 200
    if not form.validate_on_submit():
        return render_ticket(ticket, error={"field": field, "text": _first_error(form)})
    outcome = perform(EDITS[field], ticket, current_user, form.value.data, form.version.data)
    if not outcome.ok:
        if not is_htmx():
            exc = outcome.error
            status = 409 if isinstance(exc, StaleUpdate) else 403 if isinstance(exc, NotAllowed) else 200
        return render_ticket(ticket, status=status, error={"field": field, "text": outcome.message})
    text = agent_tickets.confirmation(ticket, field, outcome.value)
    if not is_htmx():
        flash(text, "success")
        return redirect(url_for("tickets_agent.ticket", ticket_id=ticket.id))
    return render_ticket(ticket, notice={"field": field, "text": text})


def _first_error(form):
    for name, errors in form.errors.items():
        if errors:
            return f"{getattr(form, name).label.text}: {errors[0]}" if name != "value" else errors[0]
    return "Check the value and try again."
