"""Log in, log out, register, change password, reset a forgotten password."""

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from helpdesk.accounts import auth as accounts
from helpdesk.accounts import password_reset
from helpdesk.accounts.blueprints import bp
from helpdesk.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    ResetRequestForm,
    timezone_choices,
)
from helpdesk.actions import perform
from helpdesk.credits import ledger as credits
from helpdesk.web import safe_next


def _start_session(user, remember):
    session.clear()  # a fresh session at login: nothing from before survives
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # Commits the failure, or the cleared counter.
        outcome = perform(accounts.authenticate, form.email.data, form.password.data, request.remote_addr)
        if not outcome.ok:
            form.form_errors.append(outcome.message)
            status = 429 if isinstance(outcome.error, accounts.LoginThrottled) else 200
            return render_template("accounts/login.html", form=form), status
        user = outcome.value
        if user is None:
            form.form_errors.append("E-mail or password is not correct.")
        else:
            _start_session(user, form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("core.index"))
    return render_template("accounts/login.html", form=form)


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
        outcome = perform(_register, form)
        if not outcome.ok:
            form.email.errors.append(outcome.message)
        else:
            _start_session(outcome.value, remember=False)
            flash("Welcome! Your account is ready.", "success")
            return redirect(url_for("tickets_portal.tickets"))
    return render_template("accounts/register.html", form=form, plans=plans)


def _register(form):
    """The account and the bank on the chosen plan (with its grant), in one transaction."""
    user = accounts.register_customer(
        form.email.data, form.name.data, form.password.data, timezone=form.timezone.data
    )
    credits.open_chosen_plan(user, form.plan.data)
    return user


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        outcome = perform(
            accounts.change_password, current_user, form.current_password.data, form.new_password.data
        )
        if not outcome.ok:
            form.current_password.errors.append(outcome.message)
        else:
            _start_session(current_user._get_current_object(), remember=False)
            flash("Password changed. Other devices have been logged out.", "success")
            return redirect(url_for("core.index"))
    return render_template("accounts/password.html", form=form)


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


@bp.route("/reset-password", methods=["GET", "POST"])
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        perform(password_reset.request_reset, form.email.data)
        flash("If an account uses that address, a reset link is on its way. It is valid for an hour.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    if password_reset.user_for_token(token) is None:
        return render_template(
            "accounts/reset_password.html", form=None, invalid=password_reset.INVALID_LINK
        ), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        outcome = perform(password_reset.reset_password, token, form.new_password.data)
        if not outcome.ok:
            form.new_password.errors.append(outcome.message)
        else:
            logout_user()
            session.clear()
            flash("Password changed. Log in with the new password.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, invalid=None)
