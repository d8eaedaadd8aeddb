"""/account/tokens: a user's personal access tokens: make one (its secret shown once), list
them (with last use), revoke one."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.api import tokens
from helpdesk.api.blueprints import account_bp as bp
from helpdesk.api.forms import RevokeForm, TokenForm, scope_label
from helpdesk.dbtypes import utcnow
from helpdesk.web import paginate


def _render(form, secret=None, status=200):
    page = paginate(tokens.tokens_query(current_user))
    return (
        render_template(
            "api/tokens.html",
            form=form,
            revoke_form=RevokeForm(),
            page=page,
            secret=secret,
            now=utcnow(),
            scope_label=scope_label,
        ),
        status,
    )


def _token_form(**kwargs):
    """The token form, offering the scopes that can do something for this user."""
    return TokenForm(**kwargs).offer(tokens.useful_scopes(current_user))


@bp.route("/account/tokens", methods=["GET", "POST"])
@recent_authentication  # a new credential: "Confirm it's you" first, as for a password change
def tokens_page():
    form = _token_form()
    if not form.validate_on_submit():
        return _render(form, status=422 if form.errors else 200)
    outcome = perform(
        tokens.create_token, current_user, name=form.name.data, scopes=form.scopes.data, days=form.days.data
    )
    if not outcome.ok:
        form.form_errors.append(outcome.message)
        return _render(form, status=422)
    token, secret = outcome.value
    flash(f"Token “{token.name}” made. Copy it now: it is shown only this once.", "success")
    return _render(_token_form(formdata=None), secret=secret, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke(token_id):
    if RevokeForm().validate_on_submit():
        outcome = perform(tokens.revoke, current_user, token_id)
        flash(
            "Token revoked: it no longer works." if outcome.ok else outcome.message,
            "success" if outcome.ok else "error",
        )
    return redirect(url_for("api_account.tokens_page"))
