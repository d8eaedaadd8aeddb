"""Who an API request acts as: the owner of its bearer token, never a session cookie.

Requests under /api that carry no `Authorization: Bearer` token are refused with 401 even when
the browser sends a session cookie: a page on another site can make a browser send the cookie,
never the header, so the API needs no CSRF token (and is exempt from it for that reason only).
"""

from flask import current_app, g, request

from helpdesk.actions import perform
from helpdesk.api import limits
from helpdesk.api.problems import ApiProblem
from helpdesk.extensions import db

OPEN_ENDPOINTS = {"api.openapi_document", "api.reference"}  # the API's description, for anyone


def authenticate():
    """before_request of the API blueprint: the token's owner becomes current_user for the request."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        detail = "Send a personal access token: Authorization: Bearer <token>."
        if request.cookies.get(current_app.config.get("SESSION_COOKIE_NAME", "session")):
            detail += " A session cookie is not accepted by the API."
        raise ApiProblem(401, detail)
    outcome = perform(limits.admit, secret.strip())
    if isinstance(outcome.error, limits.RateLimited):
        raise ApiProblem(429, outcome.message, headers={"Retry-After": str(outcome.error.retry_after)})
    if not outcome.ok:
        raise ApiProblem(401, outcome.message)
    admitted = outcome.value
    owner = admitted.owner  # read in the rate limit's transaction, with their category grants
    db.session.add(owner)  # back in the session as it was loaded, for lazy loads and identity
    g.api_token = admitted
    g._login_user = owner  # Flask-Login's current_user for this request (no session written)
    return None
