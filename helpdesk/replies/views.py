"""Saved replies in the agent console: the list (search, who may use them, least used first to
prune), new / edit / delete, the ticket page's picker fragment, and the count of a use."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import policy, staleness
from helpdesk.access import agent_blueprint
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx, render_page_or_block
from helpdesk.replies import service
from helpdesk.replies.forms import PERSONAL, ActionForm, SavedReplyForm
from helpdesk.replies.models import SavedReply
from helpdesk.tickets import lifecycle
from helpdesk.web import paginate

bp = agent_blueprint("replies", __name__)

SCOPES = (("all", "All I may use"), ("mine", "Only mine"), ("shared", "Shared in my categories"))
SORTS = (("title", "Title"), ("least_used", "Least used first"), ("most_used", "Most used first"))
PICKER_RESULTS = 8


def replies_nav(user):
    return [("Saved replies", "replies.index")] if policy.can_use_agent_console(user) else []


def _shareable_categories(user):
    return [c for c in lifecycle.active_categories() if policy.can_share_saved_reply(user, c.id)]


def _reply_or_404(reply_id):
    reply = db.session.get(SavedReply, reply_id)
    if not policy.can_keep_saved_reply(current_user, reply):
        abort(404)
    return reply


def _choice(value, options, default):
    return value if value in {key for key, _label in options} else default


@bp.get("/replies/", endpoint="index")
def index():
    q = (request.args.get("q") or "").strip()[:200]
    scope = _choice(request.args.get("scope"), SCOPES, "all")
    sort = _choice(request.args.get("sort"), SORTS, "title")
    page = paginate(service.listing(current_user, q=q, scope=scope, sort=sort))
    args = {"q": q, "scope": scope, "sort": sort}
    return render_page_or_block(
        "replies/index.html",
        "reply_list",
        page=page,
        args=args,
        scopes=SCOPES,
        sorts=SORTS,
        placeholders=service.PLACEHOLDERS,
        can_keep=lambda reply: policy.can_keep_saved_reply(current_user, reply),
        action_form=ActionForm(),
    )


def _save(form, reply=None):
    if reply is None:
        return perform(service.create, current_user, form.title.data, form.body.data, form.category_id())
    fields = (form.title.data, form.body.data, form.category_id())
    return perform(service.update_reply, current_user, reply, *fields, seen=form.seen.data or None)


def _show_refusal(form, error):
    """Each of the service's reasons under the field it is about (the title, the text, who may
    use it); one about none of them (the reply gone meanwhile) above the form."""
    for name, message in (getattr(error, "problems", None) or {"": str(error)}).items():
        field = form[name] if name in form else None
        (field.errors if field is not None else form.form_errors).append(message)


def _form_page(form, reply=None, status=200):
    return (
        render_template("replies/form.html", form=form, reply=reply, placeholders=service.PLACEHOLDERS),
        status,
    )


@bp.route("/replies/new", methods=["GET", "POST"], endpoint="new")
def new():
    form = SavedReplyForm()
    form.set_scopes(_shareable_categories(current_user))
    if request.method == "GET" and request.args.get("category"):
        wanted = request.args.get("category")
        if wanted in {key for key, _label in form.scope.choices}:
            form.scope.data = wanted
    if form.validate_on_submit():
        outcome = _save(form)
        if outcome.ok:
            flash(f"Saved reply “{outcome.value.title}” saved.", "success")
            return redirect(url_for("replies.index"))
        _show_refusal(form, outcome.error)
    return _form_page(form, status=422 if form.errors else 200)


@bp.route("/replies/<int:reply_id>/edit", methods=["GET", "POST"], endpoint="edit")
def edit(reply_id):
    if request.method == "POST" and db.session.get(SavedReply, reply_id) is None:
        return _deleted_meanwhile()
    reply = _reply_or_404(reply_id)
    form = SavedReplyForm(obj=reply if request.method == "GET" else None)
    form.set_scopes(_shareable_categories(current_user))
    current = PERSONAL if reply.owner_id else str(reply.category_id)
    if current not in {key for key, _label in form.scope.choices}:  # an archived category: it may stay
        form.scope.choices.append((current, f"Everyone working {reply.category.name}"))
    if request.method == "GET":
        form.scope.data, form.seen.data = current, service.version_of(reply)
    if form.validate_on_submit():
        outcome = _save(form, reply)
        if outcome.ok:
            flash(f"Saved reply “{reply.title}” saved.", "success")
            return redirect(url_for("replies.index"))
        if isinstance(outcome.error, service.ReplyStale):
            _show_stale(form, reply)
            return _form_page(form, reply, status=409)
        _show_refusal(form, outcome.error)
    return _form_page(form, reply, status=422 if form.errors else 200)


def _deleted_meanwhile():
    """An edit sent for a saved reply deleted since its form was opened (by someone else working
    its category, or in another tab): nothing to save it into, but what was typed is not lost. The
    form comes back as a new reply's, holding it, with what happened above it (409). Says nothing
    of whose reply it was: the row is gone, and the typed text is the sender's own."""
    form = SavedReplyForm()
    form.set_scopes(_shareable_categories(current_user))
    if form.scope.data not in {key for key, _label in form.scope.choices}:
        form.scope.data = PERSONAL
    form.form_errors.append(
        "This saved reply was deleted after you opened it, so nothing was saved. What you typed is "
        "below: “Save” keeps it as a new saved reply."
    )
    return _form_page(form, status=409)


def _show_stale(form, reply):
    """The form saved after someone else saved the same reply (a shared one is kept by every
    technician of its category): nothing was saved. Say when, and where the stored reply differs
    from what was typed; the form keeps what was typed and carries the current version, so saving
    again replaces it (as the business hours' form does). Who saved it is not recorded."""
    differ = []
    if reply.title != (form.title.data or "").strip():
        differ.append(f"its title (“{reply.title}”)")
    if reply.body != (form.body.data or "").strip():
        differ.append("its text")
    scope = PERSONAL if reply.owner_id else str(reply.category_id)
    if scope != form.scope.data:
        who = "only its owner" if reply.owner_id else f"everyone working {reply.category.name}"
        differ.append(f"who may use it ({who})")
    then = "The form still shows what you typed: save again to replace it."
    if differ:
        then = f"The saved reply now differs from yours in {', '.join(differ)}. {then}"
    subject = "This saved reply"
    form.form_errors.append(staleness.refusal(subject, at=reply.updated_at, then=then))
    form.seen.data = service.version_of(reply)


@bp.post("/replies/<int:reply_id>/delete", endpoint="delete")
def delete(reply_id):
    reply = _reply_or_404(reply_id)
    if not ActionForm().validate_on_submit():
        flash("Your form expired: try again.", "error")
        return redirect(url_for("replies.index"))
    uses = f"used {reply.use_count:,} time{'s' if reply.use_count != 1 else ''}"
    who = "only you" if reply.owner_id else f"everyone working {reply.category.name}"
    question = ask_first(
        f"Delete the saved reply “{reply.title}”?",
        f"It is {uses} and {who} will no longer find it. Replies already sent keep their text.",
        "Delete saved reply",
        cancel_url=url_for("replies.index"),
    )
    if question is not None:
        return question
    title = reply.title
    outcome = perform(service.delete, current_user, reply)
    flash(
        f"Saved reply “{title}” deleted." if outcome.ok else outcome.message,
        "success" if outcome.ok else "error",
    )
    return redirect(url_for("replies.index"))


@bp.get("/tickets/<int:ticket_id>/saved-replies", endpoint="picker")
def picker(ticket_id):
    """The picker's matches for the ticket (htmx fragment beside the reply box), each with its
    placeholders filled for this ticket; without htmx the same as a page with the texts to copy."""
    ticket = policy.get_ticket_or_404(current_user, ticket_id)
    q = (request.args.get("q") or "").strip()[:200]
    values = service.values_for(ticket, current_user)
    found = service.usable_on(current_user, ticket, q=q, limit=PICKER_RESULTS if is_htmx() else 50)
    items = [(reply, service.fill(reply.body, values)) for reply in found]
    return render_page_or_block(
        "replies/picker.html", "results", ticket=ticket, q=q, items=items, full_page=not is_htmx()
    )


@bp.post("/replies/<int:reply_id>/used", endpoint="used")
def used(reply_id):
    """A reply inserted by the picker (in the browser): counted."""
    if service.get_for(current_user, reply_id) is None:
        abort(404)
    outcome = perform(service.record_use, reply_id)
    return ("", 204) if outcome.ok else ("", 409)
