"""Bulk actions on the queue's selected rows."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.htmx import is_htmx
from helpdesk.tickets import bulk
from helpdesk.tickets.agent_queue import render_queue
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import BulkForm, QueueArgs

# The flash travels in the session cookie (4 KB in all): the reasons it lists stop at this many
# characters and count the tickets left out (a hundred lost races would not fit).
FLASHED_REASONS = 1500


@bp.post("/bulk", endpoint="bulk")
def bulk_action():
    args = QueueArgs(request.args)  # the filters the agent was looking at, to show the same list after
    form = BulkForm()
    if not form.validate_on_submit():
        notice = {"level": "error", "text": _form_problem(form)}
    elif not form.selection():
        notice = {"level": "error", "text": "Select at least one ticket."}
    elif form.action.data == "assign" and not (request.form.get("assignee") or "").strip():
        # No default: an agent who pressed Assign without choosing never unassigns by accident.
        notice = {
            "level": "error",
            "text": "Choose whom to assign the selected tickets to, or Nobody to unassign them.",
        }
    elif asked := _ask_before_closing(form):
        return asked
    else:
        outcome = perform(bulk.bulk_update, current_user, form.selection(), form.action.data, form.value())
        if outcome.ok:
            result = outcome.value
            notice = {
                "level": "error" if result.refused else "success",
                "text": result.summary(),
                "result": result,
            }
        else:
            notice = {"level": "error", "text": outcome.message}
    if not is_htmx():
        result = notice.get("result")
        if result is not None and result.refused:  # the same reasons as the htmx answer lists
            flash({"text": notice["text"], "details": result.reasons(FLASHED_REASONS)}, notice["level"])
        else:
            flash(notice["text"], notice["level"])
        return redirect(url_for("tickets_agent.queue", **args.as_args()))
    return render_queue(args, notice=notice)


# What to say when the chosen action's value is not one the bar offers (a hand-made POST).
CHOOSE_LISTED = {
    "assign": bulk.CHOOSE_AGENT,
    "status": "Choose one of the listed statuses.",
    "category": "Choose one of the listed categories.",
}


def _form_problem(form):
    """The refusal of a form WTForms did not accept, about the field at fault: the action, else
    the value chosen for it (an assignee that is not a number is not one of the listed agents)."""
    if form.action.errors:
        return "Choose an action."
    return CHOOSE_LISTED[form.action.data]


def _ask_before_closing(form):
    """Closing several tickets at once asks first (None to go ahead)."""
    if form.action.data != "status" or form.value() != "closed":
        return None
    count = len(form.selection())
    tickets = f"{count} ticket" + ("s" if count != 1 else "")
    return ask_first(
        f"Close {tickets}?",
        f"{tickets.capitalize()} will be set to Closed and leave the active queue; "
        "nobody can reply to them until they are reopened.",
        f"Close {tickets}",
    )
