"""Admin views for the technician-by-category permission grid (per cell with htmx, or whole form)."""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from helpdesk.accounts import permissions
from helpdesk.accounts.blueprints import admin_bp as bp
from helpdesk.accounts.forms import PermissionsForm
from helpdesk.accounts.models import User
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx, render_fragment, render_page_or_block
from helpdesk.tickets import categories
from helpdesk.tickets.models import Category
from helpdesk.web import paginate


def _grid_page():
    query = permissions.technician_query()
    return paginate(query)


@bp.get("/permissions", endpoint="permissions")
def permissions_page():
    page = _grid_page()
    return render_page_or_block(
        "accounts/admin/permissions.html",
        "grid",
        page=page,
        categories=categories.all_categories(),
        granted=permissions.granted_pairs([u.id for u in page.items]),
        form=PermissionsForm(formdata=None),
    )


@bp.post("/permissions")
@recent_authentication
def save_permissions():
    """The no-JavaScript path: the whole visible grid is submitted and saved in one go."""
    form = PermissionsForm()
    if not form.validate_on_submit():
        abort(400)
    rows = db.session.scalars(db.select(User).where(User.id.in_(form.rows.data or []))).all()
    outcome = perform(
        permissions.replace_permissions, current_user, rows, categories.all_categories(), form.wanted_pairs()
    )
    if outcome.ok:
        change = outcome.value
        timers = "".join(f" {timer.said}" for timer in change.stopped_timers)
        flash(f"Permissions saved: {change.granted} granted, {change.revoked} revoked.{timers}", "success")
    else:
        flash(outcome.message, "error")
    return redirect(url_for("accounts_admin.permissions", page=request.args.get("page")))


@bp.post("/permissions/<int:user_id>/<int:category_id>")
@recent_authentication
def toggle_permission(user_id, category_id):
    """One cell, saved at once (htmx): granted when this cell's checkbox is among the checked ones."""
    user = db.session.get(User, user_id) or abort(404)
    category = db.session.get(Category, category_id) or abort(404)
    form = PermissionsForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = (user.id, category.id) in form.wanted_pairs()
    outcome = perform(permissions.set_permission, current_user, user, category, wanted)
    error = outcome.message or None
    timers = " ".join(timer.said for timer in getattr(outcome.value, "stopped_timers", ()))
    granted = permissions.granted_pairs([user.id])
    if not is_htmx():
        flash(error or f"Permission saved. {timers}".strip(), "error" if error else "success")
        return redirect(url_for("accounts_admin.permissions"))
    response = render_fragment(
        "accounts/admin/_permission_cell.html",
        u=user,
        c=category,
        granted=granted,
        saved=not error,
        error=error,
        timers=timers,
    )
    return response
