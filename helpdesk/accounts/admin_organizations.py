"""Admin views for organizations: list, create, rename; members, managers and the shared bank."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import staleness
from helpdesk.accounts import audit, organizations
from helpdesk.accounts.blueprints import admin_bp as bp
from helpdesk.accounts.forms import (
    ManagerForm,
    MemberForm,
    OrganizationForm,
    RemoveMemberForm,
    RenameOrganizationForm,
    SearchFilter,
)
from helpdesk.accounts.models import Organization, User
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.credits import ledger as credits
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx, refused_status, render_fragment, render_page_or_block
from helpdesk.web import field_errors, paginate


def _org_or_404(org_id):
    return db.session.get(Organization, org_id) or abort(404)


def _list_context(form=None, row_errors=None, created=None):
    filters = SearchFilter(request.args)
    page = paginate(organizations.organization_list(filters.q), page=filters.page)
    ids = [o.id for o in page.items]
    return dict(
        page=page,
        filters=filters,
        counts=organizations.member_counts(ids),
        banks=credits.banks_by_organization(ids),
        versions=organizations.name_versions(page.items),
        form=form or OrganizationForm(formdata=None),
        row_errors=row_errors or {},
        created=created,
    )


@bp.get("/organizations")
def organizations_page():
    return render_page_or_block(
        "accounts/admin/organizations.html", "organization_section", **_list_context()
    )


@bp.post("/organizations")
def create_organization():
    form = OrganizationForm()
    if form.validate_on_submit():
        outcome = perform(organizations.create_organization, current_user, form.name.data)
        if not outcome.ok:
            form.name.errors.append(outcome.message)
        else:
            org = outcome.value
            if not is_htmx():
                flash(f"Organization “{org.name}” created: add its members here.", "success")
                return redirect(url_for("accounts_admin.organization", org_id=org.id))
            context = _list_context(created=org)
            return render_page_or_block(
                "accounts/admin/organizations.html", "organization_section", **context
            )
    context = _list_context(form=form)
    return render_page_or_block(
        "accounts/admin/organizations.html", "organization_section", status=refused_status(), **context
    )


def _row_or_page(org, message=None, error=None, value=None, status=422):
    """htmx: the organization's row alone (with its confirmation or error); browsers: the list
    (`status`: 422 for a refused name, 409 for a stale row)."""
    if is_htmx():
        response = render_fragment(
            "accounts/admin/_organization_row.html",
            o=org,
            counts=organizations.member_counts([org.id]),
            banks=credits.banks_by_organization([org.id]),
            versions=organizations.name_versions([org]),
            message=message,
            error=error,
            value=value,
        )
        return response
    if error:
        page = render_template(
            "accounts/admin/organizations.html", **_list_context(row_errors={org.id: (error, value)})
        )
        return page, status
    flash(message, "success")
    return redirect(url_for("accounts_admin.organizations_page", **SearchFilter(request.args).as_args()))


@bp.post("/organizations/<int:org_id>/rename")
def rename_organization(org_id):
    org = _org_or_404(org_id)
    form = RenameOrganizationForm()
    if not form.validate_on_submit():
        error = "; ".join(field_errors(form.name)) or "Enter an organization name."
        return _row_or_page(org, error=error, value=form.name.data)
    seen = staleness.seen_number(form.seen_change.data)
    outcome = perform(organizations.rename_organization, current_user, org, form.name.data, seen=seen)
    if isinstance(outcome.error, audit.AuditStale):
        changes = outcome.error.changes
        error = staleness.refusal(
            "This organization's name",
            **staleness.recorded(changes),
            what=f"now “{org.name}”",
            opened="this page",
            then="The box still shows what you typed: rename again to replace it.",
        )
        return _row_or_page(org, error=error, value=form.name.data, status=409)
    if not outcome.ok:
        return _row_or_page(org, error=outcome.message, value=form.name.data)
    return _row_or_page(org, message=f"Saved: renamed to “{org.name}”.")


def _members(org, *, form=None, confirm=None, message=None, error=None):
    """The organization page (or, for htmx, its member section) with the add form and any step;
    a refused form or action answers 422 (refused_status)."""
    filters = SearchFilter(request.args)
    refused = error is not None or (form is not None and bool(form.errors))
    return render_page_or_block(
        "accounts/admin/organization.html",
        "member_section",
        status=refused_status() if refused else 200,
        org=org,
        members=paginate(organizations.member_query(org), page=filters.page),
        filters=filters,
        form=form or MemberForm(formdata=None),
        confirm=confirm,
        message=message,
        error=error,
        bank=credits.bank_for(org),
        plans=credits.all_plans(),
    )


def _done(org, message):
    if is_htmx():
        return _members(org, message=message)
    flash(message, "success")
    return redirect(
        url_for("accounts_admin.organization", org_id=org.id, **SearchFilter(request.args).as_args())
    )


@bp.get("/organizations/<int:org_id>")
def organization(org_id):
    return _members(_org_or_404(org_id))


@bp.post("/organizations/<int:org_id>/members")
def add_member(org_id):
    org = _org_or_404(org_id)
    form = MemberForm()
    if not form.validate_on_submit():
        return _members(org, form=form)
    outcome = perform(
        organizations.add_member, current_user, org, form.email.data, confirmed=form.confirmed.data
    )
    if isinstance(outcome.error, organizations.MoveConfirmationNeeded):
        return _members(org, form=form, confirm=outcome.error)
    if not outcome.ok:
        form.email.errors.append(outcome.message)
        return _members(org, form=form)
    user, changed = outcome.value
    return _done(org, f"{user.name} {'joined' if changed else 'is already a member of'} {org.name}.")


def _member_action(org_id, user_id, form, action, question=None):
    """Run `action(org, user)` for a member; a stale request (already removed) gets a message."""
    org = _org_or_404(org_id)
    user = db.session.get(User, user_id) or abort(404)
    if not form.validate_on_submit():
        abort(400)
    asked = question and user.organization_id == org.id and _ask(org, *question(org, user))
    if asked:
        return asked
    outcome = perform(action, org, user)
    if not outcome.ok:
        return _members(org, error=outcome.message)
    return _done(org, outcome.value)


def _ask(org, question, consequence, action, warning=None):
    """ask_first, whose Cancel goes back to the organization's page (the form's own page)."""
    if not question:
        return None
    back = url_for("accounts_admin.organization", org_id=org.id, **SearchFilter(request.args).as_args())
    return ask_first(question, consequence, action, cancel_url=back, warning=warning)


def _no_manager_warning(user):
    """The warning before `user`, the only manager of their organization, stops managing it."""
    organization = organizations.last_manager_of(user)
    return organizations.no_manager_warning(organization) if organization is not None else None


@bp.post("/organizations/<int:org_id>/members/<int:user_id>/remove")
def remove_member(org_id, user_id):
    def action(org, user):
        organizations.remove_member(current_user, org, user)
        return f"{user.name} is no longer a member of {org.name}."

    def question(org, user):
        return (
            f"Remove {user.name} from {org.name}?",
            f"{user.name} keeps their account and tickets but no longer sees {org.name}'s tickets "
            "or uses its credits.",
            "Remove member",
            _no_manager_warning(user),
        )

    return _member_action(org_id, user_id, RemoveMemberForm(), action, question)


@bp.post("/organizations/<int:org_id>/members/<int:user_id>/manager")
@recent_authentication
def set_manager(org_id, user_id):
    form = ManagerForm()

    def action(org, user):
        manager = form.manager.data == "1"
        organizations.set_manager(current_user, org, user, manager)
        if manager:
            return f"Saved: {user.name} manages {org.name} and sees all its tickets."
        return f"Saved: {user.name} is a member of {org.name} again and sees only their own tickets."

    def question(org, user):
        warning = _no_manager_warning(user) if form.manager.data == "0" else None
        if warning is None:  # only losing the last manager needs a question
            return (None, None, None)
        return (
            f"Make {user.name} a plain member of {org.name}?",
            f"{user.name} stays a member but sees only their own tickets.",
            "Unmake manager",
            warning,
        )

    return _member_action(org_id, user_id, form, action, question)
