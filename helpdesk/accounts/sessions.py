"""The signed-in session: starting it, the half-way state between password and second factor, when the
user last proved who they are (re-authentication), and the forced two-factor set-up.

Everything here lives in Flask's signed session cookie; the checks made on every request read
only the cookie, never the database.
"""

import time

from flask import current_app, flash, make_response, redirect, request, session, url_for
from flask_login import current_user, login_url, login_user

from helpdesk import policy
from helpdesk.extensions import login_manager
from helpdesk.htmx import hx_redirect_or, is_htmx

AUTH_AT = "auth_at"  # when the user last gave a password or code (Unix time)
PENDING = "pending_login"  # password accepted, second factor awaited: not signed in yet
TWO_FACTOR = "two_factor"  # "ok", or "setup" when the role requires two factors not set up yet
PENDING_SECONDS = 300
# Pages a user who must set up two factors may still open.
SETUP_ENDPOINTS = frozenset(
    {"accounts.two_factor", "accounts.two_factor_enable", "accounts.logout", "static"}
)


def start(user, remember=False):
    """Sign `user` in on a fresh session (nothing from before survives), authenticated now."""
    session.clear()
    login_user(user, remember=remember)
    mark_authenticated()
    session[TWO_FACTOR] = two_factor_state(user)


def two_factor_state(user):
    must = policy.must_use_two_factor(user, current_app.config["REQUIRE_2FA"])
    return "setup" if must and not user.two_factor_enabled else "ok"


def mark_authenticated():
    session[AUTH_AT] = time.time()


def authenticated_recently():
    """The password or a code was given within REAUTH_MINUTES."""
    at = session.get(AUTH_AT)
    limit = current_app.config["REAUTH_MINUTES"] * 60
    return isinstance(at, (int, float)) and 0 <= time.time() - at <= limit


def begin_second_factor(user, remember, next_url):
    """The password was right and the account has two factors: remember that, and nothing else."""
    session.clear()
    session[PENDING] = {"id": user.get_id(), "remember": bool(remember), "next": next_url, "at": time.time()}


def pending():
    """(user id with session token, remember, next) of a sign-in waiting for its code, or None when
    there is none or it is older than PENDING_SECONDS."""
    data = session.get(PENDING)
    if not isinstance(data, dict) or not isinstance(data.get("at"), (int, float)):
        return None
    if time.time() - data["at"] > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    return data


def require_two_factor_setup():
    """before_request: a signed-in user whose role requires two factors (REQUIRE_2FA) and who has
    none goes to the set-up page before anything else. Reads the cookie only, except once for a
    session that predates the rule (the state is then stored in it)."""
    if not current_app.config["REQUIRE_2FA"] or "_user_id" not in session:
        return None
    state = session.get(TWO_FACTOR)
    if state is None:
        if not current_user.is_authenticated:
            return None
        state = session[TWO_FACTOR] = two_factor_state(current_user)
    if state != "setup" or request.endpoint in SETUP_ENDPOINTS:
        return None
    target = url_for("accounts.two_factor")
    return hx_redirect_or(redirect(target), target)


def two_factor_done():
    session[TWO_FACTOR] = "ok"


def refresh_two_factor_state(user):
    """After two factors were turned off: a role that requires them goes back to the set-up page."""
    session[TWO_FACTOR] = two_factor_state(user)


def signed_out():
    """Flask-Login's answer to a page that needs a signed-in user, asked without one (never signed
    in, signed out in another tab, every session ended from another device). A browser goes to the
    login page, back here after. An htmx request answers 401: following the redirect would swap the
    login page into the part of the page it asked for (a table, the presence box), and a background
    request (the heartbeat, a draft's autosave) must not navigate away from the text being typed.
    static/app.js tells the user to sign in again; static/live.js keeps the live parts as they are."""
    if is_htmx():
        response = make_response("Your session has ended: sign in again.", 401)
        response.mimetype = "text/plain"
        response.headers["WWW-Authenticate"] = 'FormBased realm="helpdesk"'
        response.vary.add("HX-Request")
        return response
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))
