"""The agent console's blueprint: every page needs an active technician or admin (others get 404)."""

from flask import Blueprint, abort
from flask_login import current_user, login_required

from .. import policy

bp = Blueprint("agent", __name__)


@bp.before_request
@login_required
def require_agent():
    """Anonymous users are sent to log in; customers and subscribers get 404 (the console is not theirs)."""
    if not policy.can_use_agent_console(current_user):
        abort(404)
