"""The agent console's blueprint: every page needs an active technician or admin (others get 404)."""

from flask import Blueprint

from .. import policy
from ..access import require

bp = Blueprint("agent", __name__)


@bp.before_request
@require(policy.can_use_agent_console)
def require_agent():
    """Anonymous users are sent to log in; customers and subscribers get 404 (the console is not theirs)."""
