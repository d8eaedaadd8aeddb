"""An article's history for its editors: revisions, a revision compared with the current text,
restoring one, and the readers' votes and comments."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.kb import diffs, feedback, revisions
from helpdesk.kb.agent import editable_article
from helpdesk.kb.blueprints import agent_bp as bp
from helpdesk.kb.forms import ActionForm
from helpdesk.web import paginate


@bp.get("/<int:article_id>/revisions", endpoint="revisions")
def revision_list(article_id):
    item = editable_article(article_id)
    return render_template(
        "kb/agent/revisions.html",
        article=item,
        page=paginate(revisions.revisions_query(item)),
        action_form=ActionForm(formdata=None),
    )


@bp.get("/<int:article_id>/revisions/<int:number>", endpoint="revision")
def revision_page(article_id, number):
    item = editable_article(article_id)
    old = revisions.revision(item, number)
    if old is None:
        abort(404)
    before = diffs.as_text(old.title, old.tag_line, old.body)
    after = diffs.as_text(item.title, item.tag_line, item.body)
    try:
        lines = diffs.compare(before, after)
    except diffs.TooManyChanges:  # the page shows the two texts whole
        lines = None
    return render_template(
        "kb/agent/revision.html",
        article=item,
        revision=old,
        lines=lines,
        before="\n".join(before),
        after="\n".join(after),
        counts=diffs.changes(lines or []),
        action_form=ActionForm(formdata=None),
    )


@bp.post("/<int:article_id>/revisions/<int:number>/restore", endpoint="restore")
def restore(article_id, number):
    item = editable_article(article_id)
    form = ActionForm()
    if form.validate_on_submit():
        outcome = perform(revisions.restore_revision, current_user, item, number)
        if not outcome.ok:
            flash(outcome.message, "error")
        elif outcome.value is None:
            flash(f"Revision {number} has the current text already: nothing to restore.", "info")
        else:
            flash(f"Revision {number} restored as revision {outcome.value}.", "success")
    return redirect(url_for("kb_agent.revisions", article_id=item.id))


@bp.get("/<int:article_id>/feedback", endpoint="feedback")
def votes(article_id):
    item = editable_article(article_id)
    if not policy.can_see_kb_feedback(current_user, item):
        abort(404)
    return render_template(
        "kb/agent/feedback.html",
        article=item,
        page=paginate(feedback.feedback_query(item)),
        totals=feedback.totals(item),
    )
