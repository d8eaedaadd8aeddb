"""Admin views for users: search, adding a person, name and e-mail, role changes, deactivation
and turning two-step sign-in off, with the seat check and history."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import policy, staleness
from helpdesk.accounts import audit, erasure, organizations, password_reset, seats, sessions
from helpdesk.accounts import users as user_service
from helpdesk.accounts.auth import normalise_email
from helpdesk.accounts.blueprints import admin_bp as bp
from helpdesk.accounts.forms import (
    ROLE_LABELS,
    ActiveForm,
    DetailsForm,
    NewUserForm,
    RoleForm,
    TwoFactorActionForm,
    UserFilter,
)
from helpdesk.accounts.models import AGENT_ROLES, ROLE_ADMIN, ROLE_TECHNICIAN, User
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.confirming import ask_first, confirmed
from helpdesk.credits import time_entries
from helpdesk.extensions import db
from helpdesk.htmx import hx_redirect_or, is_htmx, render_page_or_block
from helpdesk.tickets import subscribers
from helpdesk.web import counted, paginate


@bp.get("/users")
def users():
    filters = UserFilter(request.args)
    query = user_service.user_query(q=filters.q, role=filters.role, status=filters.status)
    page = paginate(query, page=filters.page)
    return render_page_or_block(
        "accounts/admin/users.html",
        "user_list",
        page=page,
        filters=filters,
        usage=seats.seat_usage(),
        roles=ROLE_LABELS,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@recent_authentication
def new_user():
    form = NewUserForm()
    if not form.validate_on_submit():
        return _render_new_user(form, status=422 if form.errors else 200)
    outcome = perform(
        user_service.invite_user,
        current_user,
        email=form.email.data,
        name=form.name.data,
        role=form.role.data,
        confirmed=form.confirmed.data,
    )
    if isinstance(outcome.error, user_service.SeatLimitConfirmationNeeded):
        return _render_new_user(form, confirm=outcome.message)
    if not outcome.ok:
        field = getattr(form, getattr(outcome.error, "field", ""), None)
        (field.errors if field is not None else form.form_errors).append(outcome.message)
        return _render_new_user(form, status=422)
    flash(f"Invitation sent to {outcome.value.email}.", "success")
    return redirect(url_for("accounts_admin.user", user_id=outcome.value.id))


def _render_new_user(form, *, confirm=None, status=200):
    """The "Add a person" page: the form as typed, and the seat-limit question when there is one."""
    page = render_template(
        "accounts/admin/user_new.html",
        form=form,
        confirm=confirm,
        usage=seats.seat_usage(),
        roles=ROLE_LABELS,
    )
    return page, status


def _user_or_404(user_id):
    return db.session.get(User, user_id) or abort(404)


def _render_user(
    user,
    *,
    role_form=None,
    active_form=None,
    details_form=None,
    confirm=None,
    message=None,
    erase_error=None,
    status=200,
):
    """The user page (or, for htmx, its account panel) with forms, confirmation step and history;
    `erase_error` is why erasing their personal data was refused (answered 422 without htmx,
    which swaps only successful answers)."""
    role_form = role_form or RoleForm(formdata=None, role=user.role)
    history = paginate(audit.user_history(user), per_page=20)
    return render_page_or_block(
        "accounts/admin/user.html",
        "account_panel",
        status=200 if is_htmx() else status,
        erase_error=erase_error,
        erasable=policy.can_erase_personal_data(current_user, user),
        erase_refusal=erasure.refusal(current_user, user),
        user=user,
        role_form=role_form,
        active_form=active_form or ActiveForm(formdata=None),
        details_form=details_form or _details_form(user),
        confirm=confirm,
        message=message,
        history=history,
        usage=seats.seat_usage(),
        roles=ROLE_LABELS,
        link_hours=password_reset.link_hours(),
    )


def _details_form(user):
    """The name-and-e-mail form as stored, with the version it shows."""
    version = str(user_service.details_version(user))
    return DetailsForm(formdata=None, name=user.name, email=user.email, seen_change=version)


def _saved(user, message, category="success"):
    if is_htmx():
        return _render_user(user, message=message)
    flash(message, category)
    return redirect(url_for("accounts_admin.user", user_id=user.id))


@bp.get("/users/<int:user_id>")
def user(user_id):
    return _render_user(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/role")
@recent_authentication
def change_role(user_id):
    target = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _render_user(target, role_form=form)
    ending = time_entries.timers_ending(target, role=form.role.data, active=target.active)
    asked = _ask_before_role_change(target, form.role.data, ending)
    if asked:
        return asked
    outcome = perform(
        user_service.change_role, current_user, target, form.role.data, confirmed=form.confirmed.data
    )
    if isinstance(outcome.error, user_service.SeatLimitConfirmationNeeded):
        confirm = {"kind": "role", "text": outcome.message, "role": form.role.data, "asked": confirmed()}
        return _render_user(target, role_form=form, confirm=confirm)
    if not outcome.ok:
        form.role.errors.append(outcome.message)
        return _render_user(target, role_form=form)
    changed = outcome.value
    label = ROLE_LABELS[target.role]
    verb = "is now" if changed else "is already"
    text = f"{'Saved: ' if changed else ''}{target.name} {verb} {label.lower()}."
    text += _released_text(changed) + _unsubscribed_text(changed)
    if target.id == current_user.id and not target.is_admin:  # stepped down: the admin area is gone
        flash(f"Saved: you are now {label.lower()}." + _released_text(changed), "success")
        home = url_for("core.index")
        return hx_redirect_or(redirect(home), home)
    return _saved(target, text)


def _ask_before_role_change(target, new_role, ending=()):
    """The question before a role change with consequences the admin may not expect (None: no
    question, or it was answered): an admin stepping down loses the admin area; a customer made an
    agent stops following tickets as a subscriber, loses sight of the tickets they opened (a
    technician sees only granted categories) and leaves their organization, which may then have no
    manager; an agent's running timers on tickets they may no longer work (`ending`) are stopped
    and charged."""
    if new_role == target.role or new_role not in ROLE_LABELS or confirmed():
        return None
    label = ROLE_LABELS[new_role].lower()
    sentences, warning = [], None
    stepping_down = target.id == current_user.id and target.is_admin and new_role != ROLE_ADMIN
    if stepping_down and any(a.id != target.id for a in user_service.active_admins()):  # else refused
        sentences.append(
            "You lose the admin area at once: its pages (people, categories, billing, settings) will "
            "be closed to you, and only another admin can make you an admin again."
        )
    if new_role in AGENT_ROLES and not target.is_agent:
        following = subscribers.subscription_count(target)
        if following:
            sentences.append(
                f"They stop following {counted(following, 'ticket')} as a subscriber: agents follow "
                "tickets through their categories."
            )
        opened = subscribers.requested_count(target) if new_role == ROLE_TECHNICIAN else 0
        if opened:
            sentences.append(
                f"The {counted(opened, 'ticket')} they opened as a customer will no longer be in their "
                "view, nor will their replies reach them, unless they are granted those tickets' "
                "categories; making them a customer again brings them back."
            )
        if target.organization_id is not None:
            sentences.append(f"They leave {target.organization.name}: agents belong to no organization.")
            warning = _no_manager_warning(target)
    if ending:
        sentences.append(_timers_announced(ending))
    if not sentences:
        return None
    return ask_first(
        f"Make {target.name} {label}?",
        " ".join(sentences),
        f"Make {target.name} {label}",
        cancel_url=url_for("accounts_admin.user", user_id=target.id),
        warning=warning,
    )


def _unsubscribed_text(changed):
    """' They no longer follow 2 tickets as a subscriber.' after a promotion that ended any."""
    unsubscribed = getattr(changed, "unsubscribed", 0)
    if not unsubscribed:
        return ""
    return f" They no longer follow {counted(unsubscribed, 'ticket')} as a subscriber."


def _revoked_text(changed):
    """' Their 2 API tokens were revoked.' after a deactivation that revoked any."""
    revoked = getattr(changed, "tokens_revoked", 0)
    if not revoked:
        return ""
    return (
        " Their API token was revoked."
        if revoked == 1
        else f" Their {counted(revoked, 'API token')} were revoked."
    )


def _released_text(changed):
    """' 4 open tickets assigned to them went back to Unassigned.' after a change that released
    any, and what was done to each running timer it stopped."""
    released = getattr(changed, "released", 0)
    text = (
        f" {counted(released, 'open ticket')} assigned to them went back to Unassigned." if released else ""
    )
    for timer in getattr(changed, "stopped_timers", ()):
        text += f" {timer.said}"
    return text


def _timers_announced(ending):
    """What a confirmation says of the running timers a change will stop (TimerEnding)."""
    return " ".join(timer.announced for timer in ending)


@bp.post("/users/<int:user_id>/active")
@recent_authentication
def set_active(user_id):
    target = _user_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "1"
    if not active and target.active:
        ending = time_entries.timers_ending(target, role=target.role, active=False)
        asked = ask_first(
            f"Deactivate {target.name}?",
            f"{target.name}'s sessions end at once and they can no longer log in; their API tokens "
            "are revoked for good (reactivating them later brings none back: they make new ones); "
            "open tickets assigned to them go back to Unassigned, and their messages and history "
            "stay. You can reactivate them later." + (" " + _timers_announced(ending) if ending else ""),
            "Deactivate",
            cancel_url=url_for("accounts_admin.user", user_id=target.id),
            warning=_no_manager_warning(target),
        )
        if asked:
            return asked
    outcome = perform(user_service.set_active, current_user, target, active, confirmed=form.confirmed.data)
    if isinstance(outcome.error, user_service.SeatLimitConfirmationNeeded):
        confirm = {"kind": "active", "text": outcome.message, "asked": confirmed()}
        return _render_user(target, confirm=confirm)
    if not outcome.ok:
        form.form_errors.append(outcome.message)
        return _render_user(target, active_form=form)
    state = "reactivated" if active else "deactivated: their sessions have ended and they cannot log in"
    text = f"Saved: {target.name} {state}." + _revoked_text(outcome.value) + _released_text(outcome.value)
    return _saved(target, text)


@bp.post("/users/<int:user_id>/details")
@recent_authentication
def change_details(user_id):
    target = _user_or_404(user_id)
    form = DetailsForm(current_email=target.email)
    if not form.validate_on_submit():
        return _render_user(target, details_form=form)
    outcome = perform(
        user_service.change_details,
        current_user,
        target,
        name=form.name.data,
        email=form.email.data,
        new_password=form.new_password.data,
        seen=staleness.seen_number(form.seen_change.data),
    )
    if isinstance(outcome.error, audit.AuditStale):
        _show_stale_details(form, target, outcome.error.changes)
        return _render_user(target, details_form=form, status=staleness.conflict_status())
    if not outcome.ok:
        form.form_errors.append(outcome.message)
        return _render_user(target, details_form=form)
    changed = outcome.value
    if not changed:
        return _saved(target, "Nothing to change.", "info")
    text = f"Saved: name and e-mail of {target.name}."
    if changed.new_address and target.id == current_user.id:
        sessions.start(current_user._get_current_object())  # this session goes on; the others ended
        text += " Links sent to your old address no longer work, and your other sessions have ended."
    elif changed.invitation_sent and changed.password_forgotten:
        text += (
            f" The password chosen at the old address no longer works: the invitation was sent to "
            f"{target.email}, where they choose a new one."
        )
    elif changed.invitation_sent:
        text += f" The invitation was sent again to {target.email}."
    elif changed.invitation_sent is False:
        if changed.password_forgotten:
            text += " The password chosen at the old address no longer works."
        text += (
            f" The invitation was not sent again: {target.email} already got several in the last "
            "hour. Use “Send the invitation again” later."
        )
    elif changed.new_address:
        text += " Links sent to the old address no longer work, and their sessions have ended."
    return _saved(target, text)


def _show_stale_details(form, user, changes):
    """The form saved after someone else changed the name or address: say who changed what; a
    field they changed shows its new value unless this form changed it too (then it keeps what
    was typed, and saving again replaces theirs); the form carries the current version."""
    name, email = user_service.details_shown(user, changes)
    what = []
    if user.name != name:
        if " ".join((form.name.data or "").split()) == name:
            form.name.data, form.name.raw_data = user.name, None
        what.append(f"name “{user.name}”")
    if user.email != email:
        if normalise_email(form.email.data or "") == email:
            form.email.data, form.email.raw_data = user.email, None
        what.append(f"e-mail {user.email}")
    form.seen_change.data = str(user_service.details_version(user))
    subject = f"The name and e-mail of {name}"
    form.form_errors.append(
        staleness.refusal(subject, what=", ".join(what), plural=True, **staleness.recorded(changes))
    )


@bp.post("/users/<int:user_id>/invitation")
@recent_authentication
def resend_invitation(user_id):
    target = _user_or_404(user_id)
    if not TwoFactorActionForm().validate_on_submit():  # no fields but the CSRF token
        abort(400)
    outcome = perform(user_service.resend_invitation, current_user, target)
    if not outcome.ok:
        return _saved(target, outcome.message, "error")
    hours = password_reset.link_hours()
    return _saved(
        target,
        f"The invitation was sent again to {target.email}: its link works for "
        f"{counted(hours, 'hour')}, and the links sent before no longer do.",
    )


def _no_manager_warning(user):
    """The warning before `user` stops managing the organization they are the only manager of."""
    organization = organizations.last_manager_of(user)
    return organizations.no_manager_warning(organization) if organization is not None else None


@bp.post("/users/<int:user_id>/two-factor/disable")
@recent_authentication
def disable_two_factor(user_id):
    target = _user_or_404(user_id)
    if not TwoFactorActionForm().validate_on_submit():
        abort(400)
    if not target.two_factor_enabled:
        return _saved(target, f"Two-step sign-in is not on for {target.name}.", "info")
    asked = ask_first(
        f"Turn off two-step sign-in for {target.name}?",
        _two_factor_off_text(target),
        "Turn off two-step sign-in",
        cancel_url=url_for("accounts_admin.user", user_id=target.id),
    )
    if asked:
        return asked
    outcome = perform(user_service.reset_two_factor, current_user, target)
    if not outcome.ok:
        return _saved(target, outcome.message, "info")
    return _saved(target, f"Saved: two-step sign-in is off for {target.name}; their sessions have ended.")


def _two_factor_off_text(target):
    if target.id == current_user.id:  # allowed: they are signed in, and sign in again at once
        return (
            "You sign in with your password alone until you set it up again; your sessions end "
            "now, this one included."
        )
    return "They sign in with their password alone until they set it up again; their sessions end now."
