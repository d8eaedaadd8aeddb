"""The API's blueprint (/api/v1, bearer tokens only) and the token pages (/account/tokens)."""

from flask import Blueprint
from flask_login import login_required

from helpdesk.api.auth import authenticate
from helpdesk.api.errors import register_errors
from helpdesk.api.routing import Api

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
api = Api(bp, PREFIX)
bp.before_request(authenticate)
register_errors(bp)
account_bp = Blueprint("api_account", __name__)


@account_bp.before_request
@login_required
def require_login():
    """The token pages are for signed-in users."""
