"""Agents' saved views: save the queue's filters and sort under a name, open, rename, delete.

Every route answers 404 for a view that is not the signed-in agent's own. The "Save this view"
form posts to the queue's query string (as the bulk form does), so what is saved is exactly what
the agent was looking at; a refused name re-renders the queue with the typed name kept.
"""

from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.errors import NotFound
from helpdesk.htmx import hx_redirect_or
from helpdesk.tickets import queue_choices, saved_views, views_builtin
from helpdesk.tickets.agent_queue import queue_context, render_queue
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import QueueArgs, SavedViewForm
from helpdesk.tickets.nav import view_url
from helpdesk.tickets.saved_view_models import NAME_MAX

EXPIRED = "Your form expired: reload the page and try again; nothing was saved."


def _own_or_404(view_id):
    try:
        return saved_views.get_own(current_user, view_id)
    except NotFound:
        abort(404)


@bp.post("/views/saved", endpoint="save_view")
def save_view():
    """Save the queue's current filters and sort (this request's query string) as a view."""
    args = QueueArgs(request.args)
    form = SavedViewForm()
    name = (form.name.data or "")[: NAME_MAX * 4]  # kept to show again, within reason
    if not form.validate_on_submit():
        return _queue_with_error(args, name, EXPIRED)
    if args.category is not None and args.category not in {
        c.id for c in queue_choices.filter_choices(current_user)["categories"]
    }:
        return _queue_with_error(
            args, name, "That category is not one of yours: choose one of yours, then save."
        )
    outcome = perform(saved_views.create, current_user, name, urlencode(args.as_args()))
    if not outcome.ok:
        return _queue_with_error(args, name, outcome.message)
    view = views_builtin.saved_view(outcome.value)
    flash(f"View “{view.label}” saved: it is in the sidebar under My views.", "success")
    return redirect(view_url(view))


def _queue_with_error(args, name, message):
    context = queue_context(args)
    context["save_view"] = {"name": name, "error": message}
    return render_queue(args, context=context)


@bp.get("/views/saved", endpoint="saved_views")
def manage():
    """The agent's saved views: open, rename, delete."""
    return _manage_page()


def _manage_page(error_for=None, typed="", message=""):
    views = [views_builtin.saved_view(v) for v in saved_views.views_of(current_user)]
    rows = [{"view": v, "url": view_url(v)} for v in views]
    return render_template(
        "tickets/agent/saved_views.html",
        rows=rows,
        error_for=error_for,
        typed=typed,
        message=message,
        name_max=NAME_MAX,
        limit=saved_views.MAX_PER_AGENT,
    )


@bp.get("/views/saved/<int:view_id>", endpoint="open_view")
def open_view(view_id):
    """A saved view's queue (its address stays the queue's, so it can be bookmarked)."""
    return redirect(view_url(views_builtin.saved_view(_own_or_404(view_id))))


@bp.post("/views/saved/<int:view_id>/rename", endpoint="rename_view")
def rename_view(view_id):
    _own_or_404(view_id)
    form = SavedViewForm()
    typed = (form.name.data or "")[: NAME_MAX * 4]
    if not form.validate_on_submit():
        return _manage_page(view_id, typed, EXPIRED)
    outcome = perform(saved_views.rename, current_user, view_id, typed)
    if not outcome.ok:
        return _manage_page(view_id, typed, outcome.message)
    flash(f"View renamed to “{outcome.value.name}”.", "success")
    return redirect(url_for("tickets_agent.saved_views"))


@bp.post("/views/saved/<int:view_id>/delete", endpoint="delete_view")
def delete_view(view_id):
    view = _own_or_404(view_id)
    if not SavedViewForm().validate_on_submit():
        flash(EXPIRED, "error")
        return redirect(url_for("tickets_agent.saved_views"))
    question = ask_first(
        f"Delete the view “{view.name}”?",
        "It leaves your sidebar. No ticket changes; you can save the same filters again.",
        "Delete view",
        cancel_url=url_for("tickets_agent.saved_views"),
    )
    if question is not None:
        return question
    outcome = perform(saved_views.delete, current_user, view_id)
    flash(
        f"View “{outcome.value}” deleted." if outcome.ok else outcome.message,
        "success" if outcome.ok else "error",
    )
    location = url_for("tickets_agent.saved_views")
    return hx_redirect_or(redirect(location), location)
