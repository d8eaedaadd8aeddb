"""Two-factor sign-in pages: the code step after the password, and setting up, turning off and
renewing recovery codes at /account/two-factor."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from helpdesk.accounts import auth as accounts
from helpdesk.accounts import sessions, two_factor
from helpdesk.accounts.blueprints import bp
from helpdesk.accounts.forms import LoginCodeForm, TwoFactorActionForm, TwoFactorSetupForm
from helpdesk.accounts.reauth import confirm_identity, recent_authentication
from helpdesk.actions import perform
from helpdesk.errors import ValidationFailed

WRONG_CODE = "That code is not right, or was already used. Try the code your app shows now."


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of signing in with two factors: the password was right, a code is due."""
    pending = sessions.pending()
    user = accounts.load_session_user(pending["id"]) if pending else None
    if user is None:
        flash("Log in again to continue.", "info")
        return redirect(url_for("accounts.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        outcome = perform(confirm_identity, user, code=form.code.data)
        if outcome.ok and outcome.value:
            sessions.start(user, pending["remember"])
            return redirect(pending["next"] or url_for("core.index"))
        form.code.errors.append(outcome.message or WRONG_CODE)
    return render_template("accounts/login_code.html", form=form)


def _setup_page(form=None, error=None, status=200):
    """The set-up page for a new secret, or for the one a submitted form carries when it is valid
    (a submitted key that is not valid base32 is replaced, and the form says so)."""
    submitted = form is not None
    form = form or TwoFactorSetupForm(formdata=None)
    try:
        secret = two_factor.clean_secret(form.secret.data)
    except ValidationFailed as exc:
        secret = form.secret.data = two_factor.new_secret()
        if submitted:
            form.form_errors.append(str(exc))
    if error:
        form.code.errors.append(error)
    uri = two_factor.provisioning_uri(current_user, secret)
    return render_template(
        "accounts/two_factor.html",
        form=form,
        secret=secret,
        secret_groups=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr_svg=two_factor.qr_svg(uri),
        required=sessions.two_factor_state(current_user) == "setup",
    ), status


@bp.get("/account/two-factor", endpoint="two_factor")
@login_required
def two_factor_page():
    if not current_user.two_factor_enabled:
        return _setup_page()
    return render_template(
        "accounts/two_factor_on.html",
        form=TwoFactorActionForm(formdata=None),
        remaining=two_factor.remaining_recovery_codes(current_user),
    )


@bp.post("/account/two-factor")
@login_required
@recent_authentication
def two_factor_enable():
    form = TwoFactorSetupForm()
    if current_user.two_factor_enabled:
        return redirect(url_for("accounts.two_factor"))
    if not form.validate_on_submit():
        return _setup_page(form)
    outcome = perform(two_factor.enable, current_user, form.secret.data, form.code.data)
    if not outcome.ok:
        return _setup_page(form, error=None if outcome.message == two_factor.BAD_SECRET else outcome.message)
    sessions.two_factor_done()
    sessions.mark_authenticated()
    return _recovery_codes_page(outcome.value, first=True)


def _recovery_codes_page(codes, first=False):
    body = render_template("accounts/recovery_codes.html", codes=codes, first=first)
    return body, 200, {"Cache-Control": "no-store"}


@bp.post("/account/two-factor/recovery-codes")
@login_required
@recent_authentication
def two_factor_new_codes():
    if not TwoFactorActionForm().validate_on_submit() or not current_user.two_factor_enabled:
        return redirect(url_for("accounts.two_factor"))
    codes = perform(two_factor.regenerate_recovery_codes, current_user).value
    return _recovery_codes_page(codes)


@bp.post("/account/two-factor/disable")
@login_required
@recent_authentication
def two_factor_disable():
    if TwoFactorActionForm().validate_on_submit() and current_user.two_factor_enabled:
        perform(two_factor.disable, current_user)
        flash("Two-factor sign-in is off.", "success")
    sessions.refresh_two_factor_state(current_user)
    return redirect(url_for("accounts.two_factor"))
