"""View decorators that apply a policy rule: anonymous users go to log in, others get a 404."""

from functools import wraps

from flask import Blueprint, abort
from flask_login import current_user

from helpdesk import policy
from helpdesk.extensions import login_manager


def require(rule):
    """Decorate a view so it runs only when `rule(current_user)` (a function of policy.py) holds.

    Anonymous visitors are sent to the login page; logged-in users the rule refuses get 404,
    so the page's existence does not leak (CTFd's admins_only, with our policy as the judge).
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not rule(current_user):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def guarded_blueprint(name, import_name, rule):
    """A blueprint whose every view runs only when `rule(current_user)` holds (see `require`).

    One guard per audience, so every admin page answers the same way (log in, or 404), whichever
    domain owns it.
    """
    bp = Blueprint(name, import_name)

    @bp.before_request
    @require(rule)
    def _guard():
        """Anonymous users log in; users the rule refuses get 404."""

    return bp


def admin_blueprint(name, import_name):
    """A blueprint for pages under /admin/: active admins only (policy.can_administer); its pages
    show the admin section bar (see web.page_layout)."""
    bp = guarded_blueprint(name, import_name, policy.can_administer)
    bp.admin_area = True
    return bp


def agent_blueprint(name, import_name):
    """A blueprint for the agent console: active technicians and admins (policy.can_use_agent_console)."""
    return guarded_blueprint(name, import_name, policy.can_use_agent_console)
