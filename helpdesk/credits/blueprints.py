"""The credits domain's blueprints, one per audience."""

from flask import Blueprint
from flask_login import login_required

from helpdesk.access import admin_blueprint, agent_blueprint

portal_bp = Blueprint("credits_portal", __name__)  # /portal: the bank, statement, quotes, upgrades
agent_bp = agent_blueprint("credits_agent", __name__)  # /agent/credits: credit panel, time entries
admin_bp = admin_blueprint("credits_admin", __name__)  # /admin/credits: banks, plans, tariffs, alerts


@portal_bp.before_request
@login_required
def require_login():
    """Every credit page needs a logged-in user."""
