"""The start page (each role to its home), the favicon and the health check."""

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.core import health

bp = Blueprint("core", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if policy.can_use_agent_console(current_user):
        return redirect(url_for("tickets_agent.queue"))
    return redirect(url_for("tickets_portal.tickets"))


@bp.get("/healthz")
def healthz():
    problem = health.database_problem()
    if problem:
        return jsonify(status="error", database=problem), 503
    return jsonify(status="ok", database="ok")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico before reading any <link rel=icon>: serve it, never a 404."""
    path = Path(current_app.static_folder) / "favicon.ico"
    response = Response(path.read_bytes(), mimetype="image/x-icon")  # 216 bytes: no file handle left open
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
