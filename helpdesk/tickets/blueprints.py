"""The tickets domain's blueprints, one per audience (the factory registers them in tickets.init_app)."""

from flask import Blueprint
from flask_login import login_required

from helpdesk.access import admin_blueprint, agent_blueprint

files_bp = Blueprint("tickets", __name__)  # attachment downloads, for every role through the policy
portal_bp = Blueprint("tickets_portal", __name__)  # /portal: customers' tickets
agent_bp = agent_blueprint("tickets_agent", __name__)  # /agent: the queue and the ticket page
admin_bp = admin_blueprint("tickets_admin", __name__)  # /admin: categories


@portal_bp.before_request
@login_required
def require_login():
    """Every portal page needs a logged-in user (agents may use it too)."""
