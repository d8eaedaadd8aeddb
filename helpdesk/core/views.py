"""Home redirect, health check and attachment downloads (for every role, through the policy)."""

from flask import Blueprint, abort, jsonify, redirect, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from .. import policy
from ..extensions import db
from ..models import Attachment
from ..services import uploads

bp = Blueprint("core", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if policy.is_agent(current_user) and "agent" in _blueprints():
        return redirect(url_for("agent.queue"))
    return redirect(url_for("portal.tickets"))


def _blueprints():
    from flask import current_app

    return current_app.blueprints


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the database is unusable
        db.session.rollback()
        return jsonify(status="error", database=f"unavailable: {type(exc).__name__}"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def attachment(attachment_id, filename):
    item = db.session.get(Attachment, attachment_id)
    if item is None or not policy.can_download_attachment(current_user, item):
        abort(404)
    response = send_file(
        uploads.path_of(item),
        mimetype=item.content_type,
        as_attachment=True,
        download_name=item.filename,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
