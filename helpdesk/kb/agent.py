"""The agents' knowledge-base pages (/agent/kb): the article list, writing and editing, publishing
and archiving, files. Technicians work on the articles of their categories; admins on all."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.errors import StaleUpdate
from helpdesk.formfields import parse_id
from helpdesk.htmx import render_page_or_block
from helpdesk.kb import articles, feedback, files, from_tickets, search
from helpdesk.kb.blueprints import agent_bp as bp
from helpdesk.kb.forms import ActionForm, ArticleForm, ArticleListArgs, StatusForm
from helpdesk.kb.models import STATUS_LABELS, STATUSES
from helpdesk.web import paginate

DONE = {"draft": "moved back to draft", "published": "published", "archived": "archived"}


def editable_article(article_id):
    """The article if this agent may edit it; 404 otherwise, whether it exists or not."""
    item = articles.get_article(article_id)
    if not policy.can_edit_article(current_user, item):
        abort(404)
    return item


@bp.get("/", endpoint="articles")
def article_list():
    args = ArticleListArgs(request.args)
    query = search.editable(
        current_user, args.q, status=None if args.status == "all" else args.status, category_id=args.category
    )
    with search.index_scans(bool(search.words(args.q))):
        page = paginate(query, page=args.page)
    return render_page_or_block(
        "kb/agent/articles.html",
        "article_list",
        page=page,
        args=args,
        categories=articles.writable_categories(current_user),
        statuses=[("all", "Any status")] + [(s, STATUS_LABELS[s]) for s in STATUSES],
    )


def _choices(form, item):
    categories = articles.writable_categories(current_user)
    if item is not None and item.category_id not in {c.id for c in categories}:
        categories = [item.category, *categories]
    form.category.choices = [SelectChoice(c.id, c.name) for c in categories]


def _stage(form):
    """Keep the files sent with the form (checked by the upload rules) whatever becomes of the rest."""
    removed = [i for i in map(parse_id, request.form.getlist("remove_staged")) if i]
    sent = [(f.filename, f.read()) for f in request.files.getlist(form.files.name) if f and f.filename]
    outcome = perform(files.stage, current_user, form.files_key.data, sent, removed)
    return outcome.value if outcome.ok else ([], [outcome.message])


def _render_form(form, item, staged=(), upload_errors=(), status=200, seen_version=None):
    context = dict(
        form=form,
        article=item,
        staged=list(staged),
        upload_errors=list(upload_errors),
        seen_version=seen_version,
    )
    if item is not None:
        context.update(
            totals=feedback.totals(item),
            status_form=StatusForm(formdata=None),
            action_form=ActionForm(formdata=None),
            source=from_tickets.source_of(item),
            statuses=STATUSES,
            status_labels=STATUS_LABELS,
            can_delete=policy.can_delete_article(current_user, item),
        )
    return render_template("kb/agent/edit.html", **context), status


def _save(form, item):
    return perform(
        articles.save_article,
        current_user,
        item,
        seen_version=form.version.data,
        category_id=form.category.data,
        title=form.title.data,
        body=form.body.data,
        visibility=form.visibility.data,
        tags=form.tags.data or "",
        files_key=form.files_key.data,
        publish=form.action.data == "publish",
    )


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
def new_article():
    form = ArticleForm()
    _choices(form, None)
    form.ensure_key()
    if request.method == "GET":
        form.visibility.data = form.visibility.data or "customers"
        form.category.data = parse_id(request.args.get("category"))
        return _render_form(form, None)
    staged, upload_errors = _stage(form)
    if form.validate_on_submit() and not upload_errors:
        outcome = _save(form, None)
        if outcome.ok:
            item, _changed = outcome.value
            flash("Article published." if item.is_published else "Draft saved.", "success")
            return redirect(url_for("kb_agent.edit", article_id=item.id))
        form.form_errors.append(outcome.message)
    return _render_form(form, None, files.staged(current_user, form.files_key.data), upload_errors)


def _fill(form, item):
    form.category.data, form.title.data, form.body.data = item.category_id, item.title, item.body
    form.visibility.data, form.tags.data, form.version.data = (
        item.visibility,
        ", ".join(item.tag_names),
        item.version,
    )


@bp.route("/<int:article_id>", methods=["GET", "POST"], endpoint="edit")
def edit(article_id):
    item = editable_article(article_id)
    form = ArticleForm()
    _choices(form, item)
    form.ensure_key()
    if request.method == "GET":
        _fill(form, item)
        return _render_form(form, item)
    staged, upload_errors = _stage(form)
    if form.validate_on_submit() and not upload_errors:
        outcome = _save(form, item)
        if outcome.ok:
            _item, changed = outcome.value
            flash(f"Saved: revision {item.version}." if changed else "Nothing changed.", "success")
            return redirect(url_for("kb_agent.edit", article_id=item.id))
        staged = files.staged(current_user, form.files_key.data)
        if not isinstance(outcome.error, StaleUpdate):
            form.form_errors.append(outcome.message)
            return _render_form(form, item, staged, upload_errors)
        # Someone saved since the form was opened: the form now carries their revision, so that
        # saving again (after comparing) is a deliberate overwrite instead of the same refusal.
        seen = form.version.data
        form.version.data, form.version.raw_data = item.version, None
        form.form_errors.append(
            f"{outcome.message} Your text is still in the form: compare it with the revisions, then save "
            "again. Saving again replaces their version with yours."
        )
        return _render_form(form, item, staged, upload_errors, 409, seen_version=seen)
    return _render_form(form, item, files.staged(current_user, form.files_key.data), upload_errors)


@bp.post("/<int:article_id>/status", endpoint="status")
def change_status(article_id):
    item = editable_article(article_id)
    form = StatusForm()
    if not form.validate_on_submit():
        flash("Choose a status.", "error")
    else:
        outcome = perform(articles.set_status, current_user, item, form.status.data)
        if not outcome.ok:
            flash(outcome.message, "error")
        elif outcome.value:
            flash(f"“{item.title}” {DONE[form.status.data]}.", "success")
    return redirect(url_for("kb_agent.edit", article_id=item.id))


@bp.post("/<int:article_id>/delete", endpoint="delete")
def delete(article_id):
    item = editable_article(article_id)
    if not ActionForm().validate_on_submit():
        flash("Your form expired: try again.", "error")
        return redirect(url_for("kb_agent.edit", article_id=item.id))
    if not policy.can_delete_article(current_user, item):
        flash("Only a draft that was never published can be deleted: archive this one instead.", "error")
        return redirect(url_for("kb_agent.edit", article_id=item.id))
    kept = f" and its {len(item.files)} file{'s' if len(item.files) != 1 else ''}" if item.files else ""
    question = ask_first(
        f"Delete the draft “{item.title}”?",
        f"The draft, its {item.version} revision{'s' if item.version != 1 else ''}{kept} are deleted for good. "
        "It was never published, so no reader or link loses it.",
        "Delete draft",
        cancel_url=url_for("kb_agent.edit", article_id=item.id),
    )
    if question is not None:
        return question
    outcome = perform(articles.delete_draft, current_user, item)
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("kb_agent.edit", article_id=item.id))
    flash(f"Draft “{outcome.value}” deleted.", "success")
    return redirect(url_for("kb_agent.articles"))


@bp.post("/<int:article_id>/files/<int:file_id>/remove", endpoint="remove_file")
def remove_file(article_id, file_id):
    item = editable_article(article_id)
    form = ActionForm()
    if form.validate_on_submit():
        outcome = perform(files.remove_file, current_user, item, file_id)
        flash(
            f"{outcome.value} removed." if outcome.ok else outcome.message,
            "success" if outcome.ok else "error",
        )
    return redirect(url_for("kb_agent.edit", article_id=item.id, _anchor="files"))
