"""Log in, log out, register and confirm the address, change password, reset a forgotten password."""

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from helpdesk.accounts import auth as accounts
from helpdesk.accounts import confirmation, password_reset, sessions, throttle
from helpdesk.accounts.blueprints import bp
from helpdesk.accounts.forms import (
    ChangePasswordForm,
    ConfirmAddressForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResendConfirmationForm,
    ResetPasswordForm,
    ResetRequestForm,
    timezone_choices,
)
from helpdesk.accounts.passwords import MIN_PASSWORD_LENGTH, PasswordRejected
from helpdesk.actions import perform
from helpdesk.credits import ledger as credits
from helpdesk.errors import ValidationFailed
from helpdesk.mail import notify
from helpdesk.web import public_url, safe_next


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # The attempt is counted (and committed) before the password is checked: see throttle.py.
        started = perform(accounts.begin_login, form.email.data, request.remote_addr)
        if not started.ok:
            form.form_errors.append(started.message)
            return render_template("accounts/login.html", form=form), 429
        user = perform(accounts.authenticate, form.email.data, form.password.data, started.value).value
        if user is None:
            form.form_errors.append("E-mail or password is not correct.")
        elif not user.email_confirmed:
            return render_template("accounts/login.html", form=form, unconfirmed=True)
        else:
            return _signed_in(user, form.remember.data, safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


def _signed_in(user, remember, next_url):
    """The password was right: ask for the second factor, or start the session."""
    if user.two_factor_enabled:
        sessions.begin_second_factor(user, remember, next_url)
        return redirect(url_for("accounts.login_code"))
    sessions.start(user, remember)
    if session.get(sessions.TWO_FACTOR) == "setup":
        return redirect(url_for("accounts.two_factor"))
    return redirect(next_url or url_for("core.index"))


@bp.post("/logout")
@login_required
def logout():
    perform(accounts.rotate_sessions, current_user)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    plans = credits.self_service_plans()
    form.plan.choices = [(p.id, p.name) for p in plans]
    if request.method == "GET":
        form.plan.data = next((p.id for p in plans if p.is_default), plans[0].id if plans else None)
    if form.validate_on_submit():
        outcome = perform(_register, form, request.remote_addr)
        if outcome.ok:
            return render_template(
                "accounts/check_mail.html", email=accounts.normalise_email(form.email.data)
            )
        if isinstance(outcome.error, throttle.Throttled):
            form.form_errors.append(outcome.message)
            return render_template("accounts/register.html", form=form, plans=plans), 429
        (form.password if isinstance(outcome.error, PasswordRejected) else form.email).errors.append(
            outcome.message
        )
    return render_template("accounts/register.html", form=form, plans=plans)


def _limit_registrations(address):
    limit = current_app.config["REGISTER_PER_HOUR"]
    message = "Too many registrations from your network. Try again in an hour."
    throttle.attempt(f"reg:{address or 'unknown'}", limit, timedelta(hours=1), message)


def _register(form, address):
    """A new account (unconfirmed, its bank on the chosen plan) and its confirmation link, or, for an
    address that has an account, a notice to its owner: one transaction, the same answer."""
    _limit_registrations(address)
    result = confirmation.register(
        form.email.data, form.name.data, form.password.data, timezone=form.timezone.data
    )
    if result.created:
        credits.open_chosen_plan(result.user, form.plan.data)
        notify.confirmation_link(result.user)
    elif result.user.active and confirmation.take_notice(result.user):
        notify.existing_account_notice(
            result.user,
            login_url=public_url("accounts.login"),
            reset_url=public_url("accounts.forgot_password"),
        )
    return result


def _resend(email, address):
    """A new confirmation link for an account still waiting for one (a few an hour at most): the
    request stores the address, the mail worker decides (confirmation.ask_for_link)."""
    _limit_registrations(address)
    return confirmation.ask_for_link(email)


@bp.route("/register/resend", methods=["GET", "POST"])
def resend_confirmation():
    form = ResendConfirmationForm()
    if form.validate_on_submit():
        outcome = perform(_resend, form.email.data, request.remote_addr)
        if outcome.ok:
            return render_template(
                "accounts/check_mail.html", email=accounts.normalise_email(form.email.data)
            )
        form.form_errors.append(outcome.message)
        return render_template("accounts/resend_confirmation.html", form=form), 429
    return render_template("accounts/resend_confirmation.html", form=form)


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_address(token):
    """GET shows a button (link scanners only GET); its POST confirms the address."""
    form = ConfirmAddressForm()
    outcome = perform(confirmation.confirm, token) if form.validate_on_submit() else None
    if outcome is not None and outcome.ok:
        flash("Your address is confirmed. Log in to continue.", "success")
        return redirect(url_for("accounts.login"))
    try:
        confirmation.user_for_token(token)
    except ValidationFailed as exc:
        resend = ResendConfirmationForm(formdata=None)
        return render_template("accounts/confirm.html", form=None, invalid=str(exc), resend=resend), 400
    return render_template("accounts/confirm.html", form=form, invalid=None)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    if request.method != "POST":  # the form object is for the post (see the template)
        return render_template("accounts/password.html", errors={}, min_length=MIN_PASSWORD_LENGTH)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        outcome = perform(
            accounts.change_password, current_user, form.current_password.data, form.new_password.data
        )
        if not outcome.ok:
            field = (
                form.new_password if isinstance(outcome.error, PasswordRejected) else form.current_password
            )
            field.errors.append(outcome.message)
        elif not outcome.value:
            form.current_password.errors.append("The current password is not correct.")
        else:
            sessions.start(current_user._get_current_object(), remember=False)
            flash("Password changed. Other devices have been logged out.", "success")
            return redirect(url_for("core.index"))
    errors = {name: field.errors for name, field in form._fields.items() if field.errors}
    return render_template("accounts/password.html", errors=errors, min_length=MIN_PASSWORD_LENGTH)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    form.timezone.choices = timezone_choices()
    if form.validate_on_submit():
        outcome = perform(
            accounts.update_profile, current_user, name=form.name.data, timezone=form.timezone.data
        )
        if not outcome.ok:
            form.timezone.errors.append(outcome.message)
        else:
            flash("Profile saved.", "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form)


def _request_reset(email, address):
    """A reset link for `email` (stored by password_reset.ask_for_reset, made by the mail worker:
    the same work for any address), at most REGISTER_PER_HOUR requests an hour from one client
    address, whatever addresses they name: each address gets at most 3 mails an hour, but one
    client could otherwise send links to every address it knows. The limit applies alike whether
    the accounts exist, so it tells nothing about them."""
    limit = current_app.config["REGISTER_PER_HOUR"]
    message = "Too many reset requests from your network. Try again in an hour."
    throttle.attempt(f"reset:{address or 'unknown'}", limit, timedelta(hours=1), message)
    return password_reset.ask_for_reset(email)


@bp.route("/reset-password", methods=["GET", "POST"])
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        outcome = perform(_request_reset, form.email.data, request.remote_addr)
        if not outcome.ok:
            form.form_errors.append(outcome.message)
            return render_template("accounts/reset_request.html", form=form), 429
        flash("If an account uses that address, a reset link is on its way. It is valid for an hour.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        password_reset.check_token(token)
    except ValidationFailed as exc:
        return render_template("accounts/reset_password.html", form=None, invalid=str(exc)), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        outcome = perform(password_reset.reset_password, token, form.new_password.data, request.remote_addr)
        if not outcome.ok:
            form.new_password.errors.append(outcome.message)
        else:
            logout_user()
            session.clear()
            flash("Password changed. Log in with the new password.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, invalid=None)
