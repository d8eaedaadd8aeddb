"""Organization pages for managers (members' spending per month, page and CSV, and their monthly
limits) and the members' "Ask a manager for credits" from the billing page."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.credits import credit_requests, members
from helpdesk.credits import ledger as credits
from helpdesk.credits.allowances import period_of
from helpdesk.credits.blueprints import portal_bp as bp
from helpdesk.credits.forms import AskManagerForm, MemberCapForm
from helpdesk.credits.panels import asked_message
from helpdesk.csvexport import csv_response
from helpdesk.dbtypes import utcnow


def _managed_bank():
    """The shared bank the current user manages, else 404."""
    account = credits.account_for(current_user)
    if not policy.can_manage_members(current_user, account):
        abort(404)
    return account


def _period():
    """The month asked for (?month=YYYY-MM), else this month (UTC)."""
    wanted = request.args.get("month", "")
    try:
        members.month_range(wanted)
    except ValueError:
        return period_of(utcnow())
    return wanted


def _neighbours(period):
    """The months before and after `period` (YYYY-MM)."""
    start, end = members.month_range(period)
    return (start - timedelta(days=1)).strftime("%Y-%m"), end.strftime("%Y-%m")


@bp.get("/organization/usage")
def organization_usage():
    account = _managed_bank()
    period = _period()
    previous, following = _neighbours(period)
    return render_template(
        "credits/portal/organization_usage.html",
        account=account,
        period=period,
        previous=previous,
        following=following if following <= period_of(utcnow()) else None,
        usage=members.usage_summary(account, period),
        form=MemberCapForm(formdata=None),
    )


USAGE_COLUMNS = ("month", "member", "email", "tickets", "charged", "refunded", "net_spent", "monthly_limit")


@bp.get("/organization/usage.csv")
def organization_usage_csv():
    account = _managed_bank()
    period = _period()
    rows = (
        (
            period,
            m.user.name,
            m.user.email,
            m.tickets,
            m.charged,
            m.refunded,
            m.net,
            "" if m.cap is None else m.cap,
        )
        for m in members.usage_summary(account, period)
    )
    return csv_response(f"credit-usage-{period}.csv", USAGE_COLUMNS, rows)


@bp.post("/organization/members/<int:user_id>/cap")
def set_member_cap(user_id):
    account = _managed_bank()
    form = MemberCapForm()
    if not form.validate_on_submit():
        flash("A limit is a whole number of credits, 0 or more (empty for no limit).", "error")
    else:
        outcome = perform(members.set_cap, current_user, account, user_id, form.monthly_cap.data)
        if outcome.ok:
            limit = form.monthly_cap.data
            what = f"{limit:,} credits a month" if limit is not None else "no limit"
            flash(f"{outcome.value.name}: {what}.", "success")
        else:
            flash(outcome.message, "error")
    return redirect(url_for("credits_portal.organization_usage", _anchor=f"member-{user_id}"))


@bp.post("/credit-requests")
def ask_manager():
    """A member asks their managers for credits from the billing page (the bank is short)."""
    form = AskManagerForm()
    if not form.validate_on_submit():
        flash("Say how many credits you need (1 to 1,000,000).", "error")
        return redirect(url_for("billing.index", _anchor="ask-manager"))
    outcome = perform(
        credit_requests.ask, current_user, reason="short", amount=form.amount.data, subject=form.subject.data
    )
    flash(
        asked_message(outcome.value) if outcome.ok else outcome.message, "success" if outcome.ok else "error"
    )
    return redirect(url_for("billing.index"))


def organization_nav(user):
    """ "Organization" (members' spending and limits) for the managers of a shared bank."""
    if not (user.is_customer and policy.manages_organization(user)):
        return []
    if not policy.can_manage_members(user, credits.account_for(user)):
        return []
    return [("Organization", "credits_portal.organization_usage")]
