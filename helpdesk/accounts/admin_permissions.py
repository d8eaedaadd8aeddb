"""Admin views for the technician-by-category permission grid (per cell with htmx, or whole form)."""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from helpdesk import staleness
from helpdesk.accounts import audit, permissions
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


def _grid(form=None, granted=None, status=200):
    """The grid's page (or, for htmx, the grid): every cell as stored, or `granted` as the refused
    `form` was sent."""
    page = _grid_page()
    ids = [u.id for u in page.items]
    if form is None:
        form = PermissionsForm(formdata=None)
        form.seen_change.data = str(permissions.grid_version(ids))
    return render_page_or_block(
        "accounts/admin/permissions.html",
        "grid",
        status=status,
        page=page,
        categories=categories.all_categories(),
        granted=permissions.granted_pairs(ids) if granted is None else granted,
        form=form,
    )


@bp.get("/permissions", endpoint="permissions")
def permissions_page():
    return _grid()


@bp.post("/permissions")
@recent_authentication
def save_permissions():
    """The no-JavaScript path: the whole visible grid is submitted and saved in one go."""
    form = PermissionsForm()
    if not form.validate_on_submit():
        abort(400)
    rows = db.session.scalars(db.select(User).where(User.id.in_(form.rows.data or []))).all()
    outcome = perform(
        permissions.replace_permissions,
        current_user,
        rows,
        categories.all_categories(),
        form.wanted_pairs(),
        seen=staleness.seen_number(form.seen_change.data),
    )
    if isinstance(outcome.error, audit.AuditStale):
        return _stale_grid(form, outcome.error.changes)
    if outcome.ok:
        change = outcome.value
        timers = "".join(f" {timer.said}" for timer in change.stopped_timers)
        flash(f"Permissions saved: {change.granted} granted, {change.revoked} revoked.{timers}", "success")
    else:
        flash(outcome.message, "error")
    return redirect(url_for("accounts_admin.permissions", page=request.args.get("page")))


def _stale_grid(form, changes):
    """The grid saved after someone else granted or revoked a cell of its rows: nothing was
    saved. Say who changed which cells; those cells show what is stored now, every other cell
    keeps what was ticked, and the form carries the current version, so saving it again applies
    this admin's changes without undoing the other's."""
    granted, latest = permissions.cells_after(form.wanted_pairs(), changes)
    what = ", ".join(
        f"{c.target_user.name if c.target_user else 'someone'}: "
        f"{c.category.name if c.category else 'a category'} {c.new_value}"
        for c in latest.values()
    )
    form.seen_change.data = str(permissions.grid_version(form.rows.data or []))
    form.form_errors.append(
        staleness.refusal(
            "The permissions",
            **staleness.recorded(changes),
            what=what,
            plural=True,
            opened="this page",
            then="Check the boxes below and save again.",
        )
    )
    return _grid(form, granted, status=staleness.conflict_status())


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
    seen_form = None
    if outcome.ok and outcome.value:  # the grid around this cell now shows this save too
        seen = staleness.seen_number(form.seen_change.data)
        after = permissions.grid_version_after(seen, form.rows.data or [], user, category)
        if after is not None:
            seen_form = PermissionsForm(formdata=None, seen_change=str(after))
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
        seen_form=seen_form,
    )
    return response
