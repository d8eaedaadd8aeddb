"""The notices page: a user's in-app notices, newest first, with "mark all read"."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from helpdesk.actions import perform
from helpdesk.notices import service
from helpdesk.web import paginate

bp = Blueprint("notices", __name__)


@bp.before_request
@login_required
def require_login():
    """Notices are personal: log in first."""


@bp.get("/")
def index():
    page = paginate(service.notices_query(current_user))
    ticket_endpoint = "tickets_agent.ticket" if current_user.is_agent else "tickets_portal.ticket"
    return render_template("notices/index.html", page=page, form=FlaskForm(), ticket_endpoint=ticket_endpoint)


@bp.post("/read")
def mark_all_read():
    if FlaskForm().validate_on_submit():
        perform(service.mark_read, current_user)
    return redirect(url_for("notices.index"))
