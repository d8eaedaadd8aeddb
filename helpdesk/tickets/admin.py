"""Admin views for categories: list, create, rename, describe, archive and restore."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import staleness
from helpdesk.accounts import audit
from helpdesk.actions import perform
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx, refused_status, render_fragment, render_page_or_block
from helpdesk.tickets import categories, round_robin
from helpdesk.tickets.blueprints import admin_bp as bp
from helpdesk.tickets.forms import (
    ArchiveForm,
    CategoryDescriptionForm,
    CategoryForm,
    CategoryRenameForm,
    RoundRobinForm,
)
from helpdesk.tickets.models import Category
from helpdesk.web import field_errors, paginate


def _category_or_404(category_id):
    return db.session.get(Category, category_id) or abort(404)


def _page_context(form=None, row_errors=None, created=None):
    query = categories.category_list()
    page = paginate(query)
    return dict(
        page=page,
        counts=categories.ticket_counts([c.id for c in page.items]),
        round_robin=round_robin.enabled_categories([c.id for c in page.items]),
        versions=categories.versions(page.items),
        form=form or CategoryForm(formdata=None),
        row_errors=row_errors or {},
        created=created,
    )


@bp.get("/categories", endpoint="categories")
def categories_page():
    return render_page_or_block("tickets/admin/categories.html", "category_section", **_page_context())


@bp.post("/categories")
def create_category():
    form = CategoryForm()
    if form.validate_on_submit():
        outcome = perform(categories.create_category, current_user, form.name.data, form.description.data)
        if not outcome.ok:
            wrong = (
                form.description if isinstance(outcome.error, categories.DescriptionRefused) else form.name
            )
            wrong.errors.append(outcome.message)
        else:
            category = outcome.value
            if not is_htmx():
                flash(f"Category “{category.name}” created.", "success")
                return redirect(url_for("tickets_admin.categories"))
            return render_page_or_block(
                "tickets/admin/categories.html", "category_section", **_page_context(created=category)
            )
    return render_page_or_block(
        "tickets/admin/categories.html",
        "category_section",
        status=refused_status(),
        **_page_context(form=form),
    )


def _row_or_page(category, message=None, error=None, value=None, field="name", status=422):
    """htmx: the category's row alone (with its confirmation or error beside `field`, "name" or
    "description"); browsers: back to the list, or the page with the error on the row (`status`:
    422 for a refused value, 409 for a stale row)."""
    if is_htmx():
        counts = categories.ticket_counts([category.id])
        response = render_fragment(
            "tickets/admin/_category_row.html",
            c=category,
            counts=counts,
            round_robin=round_robin.enabled_categories([category.id]),
            versions=categories.versions([category]),
            message=message,
            error=error,
            value=value,
            error_field=field,
        )
        return response
    if error:
        page = render_template(
            "tickets/admin/categories.html", **_page_context(row_errors={category.id: (error, value, field)})
        )
        return page, status
    flash(message, "success")
    return redirect(url_for("tickets_admin.categories", page=request.args.get("page")))


@bp.post("/categories/<int:category_id>/rename")
def rename_category(category_id):
    category = _category_or_404(category_id)
    form = CategoryRenameForm()
    if not form.validate_on_submit():
        error = "; ".join(field_errors(form.name)) or "Enter a category name."
        return _row_or_page(category, error=error, value=form.name.data)
    seen = staleness.seen_number(form.seen_change.data)
    outcome = perform(categories.rename_category, current_user, category, form.name.data, seen=seen)
    if isinstance(outcome.error, audit.AuditStale):
        error = _stale_text(outcome.error.changes, "This category's name", f"now “{category.name}”", "rename")
        return _row_or_page(category, error=error, value=form.name.data, status=409)
    if not outcome.ok:
        return _row_or_page(category, error=outcome.message, value=form.name.data)
    return _row_or_page(category, message=f"Saved: renamed to “{category.name}”.")


@bp.post("/categories/<int:category_id>/describe")
def describe_category(category_id):
    category = _category_or_404(category_id)
    form = CategoryDescriptionForm()
    if not form.validate_on_submit():
        abort(400)
    value = form.description.data or ""
    seen = staleness.seen_number(form.seen_change.data)
    outcome = perform(categories.describe_category, current_user, category, value, seen=seen)
    if isinstance(outcome.error, audit.AuditStale):
        now = f"now “{category.description}”" if category.description else "removed"
        error = _stale_text(outcome.error.changes, f"The description of {category.name}", now, "save")
        return _row_or_page(category, error=error, value=value, field="description", status=409)
    if not outcome.ok:
        return _row_or_page(category, error=outcome.message, value=value, field="description")
    saved = "Saved: description removed." if not category.description else "Saved: description updated."
    return _row_or_page(category, message=saved, field="description")


def _stale_text(changes, subject, now, verb):
    """Who changed the row's name or description since the page was opened, and what it is now;
    the box keeps what was typed, and sending it again replaces theirs."""
    return staleness.refusal(
        subject,
        **staleness.recorded(changes),
        what=now,
        opened="this page",
        then=f"The box still shows what you typed: {verb} again to replace it.",
    )


@bp.post("/categories/<int:category_id>/archive")
def archive_category(category_id):
    category = _category_or_404(category_id)
    form = ArchiveForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = perform(categories.set_archived, current_user, category, form.archived.data == "1")
    if not outcome.ok:
        return _row_or_page(category, error=outcome.message, value=category.name)
    state = "archived: it no longer appears on the new-ticket form" if category.archived else "restored"
    return _row_or_page(category, message=f"“{category.name}” {state}.")


@bp.post("/categories/<int:category_id>/round-robin")
def set_round_robin(category_id):
    """Turn round-robin assignment on or off for the category (issue 16 item 8)."""
    category = _category_or_404(category_id)
    form = RoundRobinForm()
    if not form.validate_on_submit():
        abort(400)
    enabled = form.enabled.data == "1"
    perform(round_robin.set_enabled, current_user, category, enabled)
    state = "on: its new unassigned tickets go to its opted-in technicians in turn" if enabled else "off"
    return _row_or_page(category, message=f"Round-robin for “{category.name}” {state}.")
