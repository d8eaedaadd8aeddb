"""Re-authentication before money-moving and role-changing actions ("Confirm it's you").

`@recent_authentication` on a view: a POST from a session whose last password or code is older
than REAUTH_MINUTES gets a page asking for the password (or, with two factors on, a code) instead.
That page is a plain form posting back to the same address with every field of the original
request as hidden inputs, so nothing typed is lost and the action runs once, right after the
confirmation is accepted. For htmx requests the page replaces the whole body (HX-Retarget), and
its form is an ordinary one, so it works without JavaScript too.
"""

from functools import wraps

from flask import current_app, render_template, request
from flask_login import current_user

from helpdesk.accounts import auth, sessions, throttle, two_factor
from helpdesk.accounts.forms import ReauthForm
from helpdesk.actions import perform
from helpdesk.htmx import is_htmx

MARKER = "reauth"  # a form field present only on the confirmation page's submission
OWN_FIELDS = frozenset({MARKER, "reauth_password", "reauth_code", "csrf_token"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRONG = "That is not right. Try again."


def confirm_identity(user, password=None, code=None):
    """Whether the password (or, with two factors on, the code) proves it is `user`. Failures count
    towards LOGIN_MAX_FAILURES per window (Throttled past it); a success clears them."""
    key = throttle.begin_identity_check(user.id)
    if user.two_factor_enabled:
        ok = two_factor.verify_second_factor(user, code)
    else:
        ok = auth.check_password(user, password or "")
    if ok:
        throttle.clear(key)
    return ok


def recent_authentication(view):
    """Run the view for safe methods and recently authenticated sessions; otherwise ask first."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method in SAFE_METHODS or sessions.authenticated_recently():
            return view(*args, **kwargs)
        form = ReauthForm(meta={"csrf": False})
        if request.form.get(MARKER) and form.validate():
            outcome = perform(
                confirm_identity,
                current_user._get_current_object(),
                password=form.reauth_password.data,
                code=form.reauth_code.data,
            )
            if outcome.ok and outcome.value:
                sessions.mark_authenticated()
                return view(*args, **kwargs)
            form.form_errors.append(outcome.message or WRONG)
        return confirm_page(form)

    return wrapped


def confirm_page(form):
    """The "Confirm it's you" page, carrying the original request's fields."""
    fields = [(name, value) for name, value in request.form.items(multi=True) if name not in OWN_FIELDS]
    body = render_template(
        "accounts/reauth.html",
        form=form,
        fields=fields,
        action=request.full_path if request.query_string else request.path,
        use_code=current_user.two_factor_enabled,
        minutes=current_app.config["REAUTH_MINUTES"],
    )
    response = current_app.make_response(body)
    if is_htmx():
        response.headers["HX-Retarget"] = "body"
        response.headers["HX-Reswap"] = "innerHTML"
        response.vary.add("HX-Request")
    return response
