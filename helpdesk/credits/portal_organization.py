"""Organization pages for managers (members' spending per month, page and CSV, and their monthly
limits) and the members' "Ask a manager for credits" from the billing page."""

from datetime import datetime, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
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
from helpdesk.web import page_number, paginate


def _managed_bank():
    """The shared bank the current user manages, else 404."""
    account = credits.account_for(current_user)
    if not policy.can_manage_members(current_user, account):
        abort(404)
    return account


def _period():
    """(the month to show as YYYY-MM, why the one asked for was refused or None): ?month=YYYY-MM
    when it is a month that has begun, else this month (UTC) with the reason."""
    wanted = request.args.get("month", "").strip()
    current = period_of(utcnow())
    if not wanted:
        return current, None
    try:
        start = datetime.strptime(wanted, "%Y-%m")
    except ValueError:
        start = None
    if start is None or _month(start) != wanted:  # 2026-13, abc, 0000-01, 2026-1
        return current, f"“{wanted[:20]}” is not a month: write it as YYYY-MM, for example {current}."
    if wanted > current:
        return current, f"{wanted} has not begun yet: there is no usage to show for it."
    return wanted, None


def _month(moment):
    return f"{moment.year:04d}-{moment.month:02d}"  # strftime("%Y") drops the zeros of year 1


def _neighbours(period):
    """The months before and after `period` (YYYY-MM); none before January of year 1."""
    start, end = members.month_range(period)
    previous = None if (start.year, start.month) == (1, 1) else _month(start - timedelta(days=1))
    return previous, _month(end)


@bp.get("/organization/usage")
def organization_usage():
    return _usage_page()


def _usage_page(refused=None, status=200):
    """The usage page at the month and page the URL asks for; `refused`: a member's limit that was
    not saved ({"user_id", "typed", "message"}), shown in its row with the value typed."""
    account = _managed_bank()
    period, refusal = _period()
    previous, following = _neighbours(period)
    page = paginate(members.usage_people(account, period))  # an organization can have thousands
    usage = members.usage_of(account, period, page.items)
    return render_template(
        "credits/portal/organization_usage.html",
        account=account,
        period=period,
        refusal=refusal,
        previous=previous,
        following=following if following <= period_of(utcnow()) else None,
        page=page,
        usage=usage,
        form=MemberCapForm(formdata=None),
        refused=refused,
        # a refusal is shown beside the limit's field, or above the table when its row has none
        refused_elsewhere=bool(refused)
        and not any(m.user.id == refused["user_id"] and m.member and m.cappable for m in usage),
    ), status


USAGE_COLUMNS = ("month", "member", "email", "tickets", "charged", "refunded", "net_spent", "monthly_limit")


@bp.get("/organization/usage.csv")
def organization_usage_csv():
    account = _managed_bank()
    period, refusal = _period()
    if refusal:  # a CSV cannot show a message: no file with this month's figures under that name
        return _csv_refused(refusal)
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


def _csv_refused(reason):
    """400 with the reason as plain text, as the agents' report downloads answer refused filters."""
    text = "\n".join(
        [
            "This CSV was not made: its month was refused.",
            reason,
            "Choose the month on the usage page (Organization) and download it from there.",
        ]
    )
    response = Response(text + "\n", status=400, mimetype="text/plain")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/organization/members/<int:user_id>/cap")
def set_member_cap(user_id):
    """Save a member's monthly limit and go back to the month and page the form was on (its
    action carries them); a refused one is shown again in its row, with the value typed (422)."""
    _managed_bank()
    form = MemberCapForm()
    typed = (request.form.get("monthly_cap") or "")[:40]
    if not form.validate_on_submit():
        message = "A limit is a whole number of credits, 0 or more (empty for no limit)."
        return _usage_page({"user_id": user_id, "typed": typed, "message": message}, status=422)
    outcome = perform(members.set_cap, current_user, _managed_bank(), user_id, form.monthly_cap.data)
    if not outcome.ok:
        return _usage_page({"user_id": user_id, "typed": typed, "message": outcome.message}, status=422)
    limit = form.monthly_cap.data
    what = f"{limit:,} credits a month" if limit is not None else "no limit"
    flash(f"{outcome.value.name}: {what}.", "success")
    back = {"month": request.args.get("month") or None, "page": page_number(request.args)}
    back["page"] = back["page"] if back["page"] > 1 else None
    return redirect(url_for("credits_portal.organization_usage", **back, _anchor=f"member-{user_id}"))


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
