"""An article's page, its files, and 'Was this helpful?' (/kb/<category>/<article>).

An article the viewer may not read answers 404, whether it exists or not; an old slug or a wrong
category answers 301 with the current address. Reading it counts a view (not agents') and, when
opened from the new-ticket form's suggestions, the click that may become a deflection.
"""

import re
import secrets

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
)
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.errors import NotFound, StorageError
from helpdesk.htmx import is_htmx, render_fragment
from helpdesk.kb import articles, counts, feedback, files, links, search, tracking
from helpdesk.kb.blueprints import reader_bp as bp
from helpdesk.kb.forms import CommentForm, VoteForm
from helpdesk.kb.views import for_visitors, write_due_counts
from helpdesk.mail import tokens
from helpdesk.tickets import uploads
from helpdesk.web import field_errors

BROWSER_COOKIE = "kb_voter"
BROWSER_KEY = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
FILE_SECONDS = 300


def _article_or_404(slug, rule=policy.can_read_article):
    item, _moved = articles.find_by_slug(slug)
    if item is None or not rule(current_user, item):
        abort(404)
    return item


def _viewer():
    """The signed-in user, or None for a visitor (services take plain objects)."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def _browser_key():
    key = request.cookies.get(BROWSER_COOKIE, "")
    return key if BROWSER_KEY.match(key) else None


def _new_browser_key():
    """A key for a visitor's first vote. Made from their session's form token when it has one
    (the page's Yes / No form put it there), not at random: a double click sends the second
    request before the first's answer sets the cookie, and a random key each made it two votes
    from one browser. HMAC-keyed: the key (kept in the database) does not give the token away."""
    token = session.get("csrf_token")
    if not token:
        return secrets.token_urlsafe(24)
    return tokens.sign("kb-voter", token, length=64)  # 64 hex characters: a BROWSER_KEY


def _remember_browser(response, key):
    """Visitors vote once per browser: their key kept in a cookie for two years."""
    if key and not current_user.is_authenticated and request.cookies.get(BROWSER_COOKIE) != key:
        response.set_cookie(
            BROWSER_COOKIE,
            key,
            max_age=2 * 365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response


def feedback_context(
    item, *, key=None, vote_form=None, comment_form=None, error=None, sent=False, commented=False
):
    """What the feedback box shows: the reader's vote (by user, or this browser's `key`), the forms."""
    viewer_vote = feedback.vote_of(item, user=_viewer(), browser_key=key or _browser_key())
    return dict(
        article=item,
        can_vote=policy.can_vote_on_article(current_user, item),
        vote=viewer_vote,
        vote_form=vote_form or VoteForm(formdata=None),
        comment_form=comment_form or CommentForm(formdata=None),
        feedback_error=error,
        feedback_sent=sent,
        commented=commented,
    )


def _article_page(item, **feedback):
    """The article page's HTML, with the feedback box as `feedback` (feedback_context) says."""
    files_ = item.files
    return render_template(
        "kb/article.html",
        images=[f for f in files_ if f.is_image],
        attachments=[f for f in files_ if not f.is_image],
        related=search.related(current_user, item),
        can_edit=policy.can_edit_article(current_user, item),
        description=search.summary(item.body),
        **feedback,
    )


@bp.get("/<category_slug>/<slug>", endpoint="article")
def article(category_slug, slug):
    item = _article_or_404(slug)
    if item.slug != slug or category_slug != links.category_slug(item.category_id):
        return redirect(links.article_url(item, **links.kept_parameters(request.args)), 301)
    html = _article_page(item, **feedback_context(item, sent=request.args.get("feedback") == "sent"))
    form_key = request.args.get("form") if request.args.get("ref") == "suggestion" else None
    if item.is_published:
        counts.count_read(item, _viewer())
        if form_key:
            perform(tracking.record_suggestion_click, item, _viewer(), form_key)
    write_due_counts()
    return for_visitors(make_response(html))


@bp.get("/<category_slug>/<slug>/files/<int:file_id>/<path:filename>", endpoint="file")
def file(category_slug, slug, file_id, filename):
    item = _article_or_404(slug)
    entry = files.get_file(item, file_id)
    if entry is None or not policy.can_download_kb_file(current_user, entry):
        abort(404)
    try:
        stored = uploads.open_stored(entry.attachment)  # the local folder or the S3 bucket
    except NotFound:
        abort(404)
    except StorageError as exc:
        page = render_template("core/error.html", code=503, title="File not available", text=str(exc))
        return page, 503, {"Retry-After": "30"}
    response = send_file(
        stored.stream,
        mimetype=entry.attachment.content_type,
        as_attachment=not entry.is_image,
        download_name=entry.filename,
        max_age=0,
    )
    response.content_length = stored.size
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if policy.can_read_article(None, item) and not current_user.is_authenticated:
        response.headers["Cache-Control"] = f"public, max-age={FILE_SECONDS}"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _after_feedback(item, key, error, **context):
    """The feedback box again (htmx), or back to the article (without JavaScript)."""
    if is_htmx():
        response = render_fragment(
            "kb/_feedback.html", **feedback_context(item, key=key, error=error, **context)
        )
    else:
        if error:
            flash(error, "error")
        params = {} if error else {"feedback": "sent"}
        response = redirect(links.article_url(item, _anchor="feedback", **params), 303)
    return _remember_browser(response, key)


@bp.post("/<category_slug>/<slug>/feedback", endpoint="vote")
def vote(category_slug, slug):
    item = _article_or_404(slug, policy.can_vote_on_article)
    form = VoteForm()
    # Signed in: the browser's key still names a vote cast before signing in (feedback adopts it).
    key = _browser_key() if current_user.is_authenticated else (_browser_key() or _new_browser_key())
    error = None
    if not form.validate_on_submit():
        error = "Choose Yes or No."
    else:
        outcome = perform(
            feedback.vote, item, user=_viewer(), browser_key=key, helpful=form.helpful.data == "yes"
        )
        error = outcome.message or None
    return _after_feedback(item, key, error, sent=error is None)


@bp.post("/<category_slug>/<slug>/feedback/comment", endpoint="comment")
def comment(category_slug, slug):
    item = _article_or_404(slug, policy.can_vote_on_article)
    form = CommentForm()
    key = _browser_key()
    if not form.validate_on_submit():
        error = next(
            iter(field_errors(form.comment, "Your comment")), "Write what you were looking for, or leave it."
        )
        return _comment_refused(item, key, form, error)
    outcome = perform(feedback.comment, item, user=_viewer(), browser_key=key, text=form.comment.data)
    if not outcome.ok:  # the vote was changed to Yes in another tab, ...
        return _comment_refused(item, key, form, outcome.message)
    return _after_feedback(item, key, None, sent=True, commented=True)


def _comment_refused(item, key, form, error):
    """The feedback box again with the comment as typed and why it was refused, never a redirect
    that loses it: the fragment for htmx, else the article page (422)."""
    context = feedback_context(item, key=key, comment_form=form, error=error)
    if is_htmx():
        return render_fragment("kb/_feedback.html", **context)
    return make_response(_article_page(item, **context), 422)
