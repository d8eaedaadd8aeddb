"""The notices page (a user's in-app notices, unread first, newest first, with "mark read") and the
agent's settings at /account/notifications: mail per kind of notice, round-robin and away."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from helpdesk import policy
from helpdesk.accounts import availability
from helpdesk.actions import perform
from helpdesk.notices import mentions, preferences, service
from helpdesk.notices.forms import AvailabilityForm, MailPreferencesForm, mailed_kinds
from helpdesk.web import paginate, safe_next

bp = Blueprint("notices", __name__)
account_bp = Blueprint("notices_account", __name__)


@bp.before_request
@login_required
def require_login():
    """Notices are personal: log in first."""


@bp.get("/")
def index():
    unread = request.args.get("show") == "unread"
    query = service.notices_query(current_user)
    page = paginate(service.unread_only(query) if unread else query)
    ticket_endpoint = "tickets_agent.ticket" if current_user.is_agent else "tickets_portal.ticket"
    return render_template(
        "notices/index.html", page=page, form=FlaskForm(), ticket_endpoint=ticket_endpoint, unread=unread
    )


@bp.post("/read")
def mark_all_read():
    if FlaskForm().validate_on_submit():
        perform(service.mark_read, current_user)
    return redirect(url_for("notices.index"))


@bp.post("/<int:notice_id>/read")
def mark_one_read(notice_id):
    """Mark one of the user's own notices read (another user's: nothing changes)."""
    if FlaskForm().validate_on_submit():
        perform(service.mark_read, current_user, [notice_id])
    return redirect(safe_next(request.form.get("next")) or url_for("notices.index"))


@account_bp.before_request
@login_required
def require_agent():
    """Mail preferences and availability are the agents' (a customer's notices page has none)."""
    if not policy.is_agent(current_user):
        abort(404)


EXPIRED = "This form had expired: nothing was saved. Please try again."


@account_bp.get("/notifications", endpoint="settings")
def settings():
    data = {f"mail_{kind}": wanted for kind, _label, wanted in preferences.mail_choices(current_user)}
    return render_template(
        "notices/settings.html",
        prefs_form=MailPreferencesForm(formdata=None, data=data),
        availability_form=AvailabilityForm(formdata=None, obj=availability.availability(current_user)),
        own_mention=mentions.mention_of(current_user),
    )


@account_bp.post("/notifications")
def save_mail_preferences():
    form = MailPreferencesForm()
    if not form.validate_on_submit():
        flash(EXPIRED, "error")
        return redirect(url_for("notices_account.settings"))
    perform(preferences.set_mail_choices, current_user, mailed_kinds(form))
    flash("Mail preferences saved.", "success")
    return redirect(url_for("notices_account.settings"))


@account_bp.post("/availability")
def save_availability():
    form = AvailabilityForm()
    if not form.validate_on_submit():
        flash(EXPIRED, "error")
        return redirect(url_for("notices_account.settings"))
    perform(
        availability.set_availability, current_user, round_robin=form.round_robin.data, away=form.away.data
    )
    flash(
        "You are away: round-robin gives you no new tickets." if form.away.data else "Availability saved.",
        "success",
    )
    return redirect(url_for("notices_account.settings"))
