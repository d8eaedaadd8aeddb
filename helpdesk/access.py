"""View decorators that apply a policy rule: anonymous users go to log in, others get a 404."""

from functools import wraps

from flask import abort
from flask_login import current_user

from .extensions import login_manager


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
