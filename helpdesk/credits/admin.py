"""Admin credit pages under /admin/credits/: banks, statements, adjustments, plans, tariffs, alerts."""

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from helpdesk import policy, staleness
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.billing import subscriptions
from helpdesk.confirming import ask_first
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import ledger as credits
from helpdesk.credits import plans as credit_settings
from helpdesk.credits.blueprints import admin_bp as bp
from helpdesk.credits.forms import AdjustForm, MovePlanForm, OpenBankForm, PlanForm, TariffForm
from helpdesk.credits.models import CreditAccount, CreditAlert, ServicePlan
from helpdesk.extensions import db
from helpdesk.formfields import parse_id
from helpdesk.htmx import is_htmx, render_page_or_block
from helpdesk.tickets.forms import new_submission_key
from helpdesk.tickets.models import Priority
from helpdesk.web import format_number, layout_count, paginate


def _plan_choices(form):
    form.plan.choices = [(p.id, p.name) for p in credits.all_plans()]
    return form


@bp.get("/")
def index():
    return _index_page()


def _index_page(open_form=None, status=200):
    """The banks' list with the "Open or move bank" form (`open_form`: as sent, when refused)."""
    search = (request.args.get("q") or "").strip()[:200]
    page = paginate(credits.bank_list_query(search))
    return render_page_or_block(
        "credits/admin/index.html",
        "accounts",
        status=status,
        page=page,
        search=search,
        open_form=open_form or _plan_choices(OpenBankForm(formdata=None)),
        open_alerts=credit_alerts.open_alert_count(),
    )


@bp.post("/banks")
@recent_authentication
def open_bank():
    form = _plan_choices(OpenBankForm())
    if form.validate_on_submit():
        plan = db.session.get(ServicePlan, form.plan.data)
        outcome = perform(
            credit_settings.open_bank,
            current_user,
            plan,
            email=form.email.data,
            organization_name=form.organization.data,
        )
        if outcome.ok:
            flash(f"{outcome.value.owner_name} is on {plan.name}.", "success")
            return redirect(url_for("credits_admin.account", account_id=outcome.value.id))
        form.form_errors.append(outcome.message)
    elif not form.errors.get("csrf_token"):
        form.form_errors.append("Check the fields marked below.")
    # The page again with what was typed and why it was refused (a redirect lost both).
    return _index_page(open_form=form, status=422)


def _account_page(account, adjust_form=None, status=200):
    return render_page_or_block(
        "credits/admin/account.html",
        "statement",
        status=status,
        account=account,
        page=paginate(credits.statement_query(account)),
        adjust_form=adjust_form or _new_adjust_form(),
        plan_form=_plan_choices(MovePlanForm(formdata=None, plan=account.plan_id)),
    )


def _new_adjust_form():
    """A blank adjustment form with a submission key of its own, new each time it is shown."""
    form = AdjustForm(formdata=None)
    form.submission_key.data = new_submission_key()
    return form


@bp.get("/banks/<int:account_id>")
def account(account_id):
    return _account_page(db.get_or_404(CreditAccount, account_id))


@bp.post("/banks/<int:account_id>/adjust")
@recent_authentication
def adjust(account_id):
    item = db.get_or_404(CreditAccount, account_id)
    form = AdjustForm()
    valid = form.validate_on_submit()
    if form.submission_key.errors:  # a page from before the keys: nothing to tell a resend by
        form.submission_key.data = new_submission_key()
        form.form_errors.append(
            "Nothing was booked: this form came from an old page. Check the amount and the reason,"
            " then book it again."
        )
        return _account_page(item, adjust_form=form)
    amount, reason, key = form.amount.data, form.reason.data, form.submission_key.data
    booked = valid and credits.booked_adjustment(item, amount, reason, key)
    if booked:  # this form again (back and resubmit): said, not asked again
        return _already_booked(item, booked)
    refusal = valid and credits.adjustment_refusal(item, amount, reason)
    if refusal:  # said before the question, not after the admin confirmed
        form.form_errors.append(refusal)
    elif valid:
        asked = ask_first(
            f"{'Add' if amount > 0 else 'Take'} {abs(amount):,} credits {'to' if amount > 0 else 'from'} "
            f"{item.owner_name}'s bank?",
            f"The balance goes from {item.balance:,} to {item.balance + amount:,} credits, "
            f"booked with the reason “{reason}”.",
            f"Book {amount:+,} credits",
            danger=amount < 0,
            cancel_url=url_for("credits_admin.account", account_id=item.id),
        )
        if asked:
            return asked
        outcome = perform(credits.adjust, item, amount, reason, current_user, submission_key=key)
        if outcome.ok:
            entry, created = outcome.value
            if not created:  # the confirmation posted twice (a double click): booked by the first
                return _already_booked(item, entry)
            flash(f"{amount:+,} credits booked for {item.owner_name}.", "success")
            return redirect(url_for("credits_admin.account", account_id=item.id))
        form.form_errors.append(outcome.message)
    return _account_page(item, adjust_form=form)


def _already_booked(account, entry):
    """The answer to an adjustment form sent again after it was booked: nothing is booked twice."""
    flash(
        f"Already booked: {entry.amount:+,} credits for {account.owner_name} (“{entry.memo}”) were "
        "booked from this form before. Nothing was booked again.",
        "info",
    )
    return redirect(url_for("credits_admin.account", account_id=account.id))


@bp.post("/banks/<int:account_id>/plan")
@recent_authentication
def move_plan(account_id):
    item = db.get_or_404(CreditAccount, account_id)
    form = _plan_choices(MovePlanForm())
    if form.validate_on_submit():
        outcome = perform(
            credits.move_to_plan, item, db.get_or_404(ServicePlan, form.plan.data), current_user
        )
        if outcome.ok:
            flash(f"{item.owner_name} is now on {item.plan.name}.", "success")
        else:
            flash(outcome.message, "error")
    return redirect(url_for("credits_admin.account", account_id=item.id))


def _plan_form(plan, formdata=None):
    data = {f: getattr(plan, f) for f in credit_settings.PLAN_FIELDS}
    data.update(
        thresholds=credit_settings.format_thresholds(plan), priorities=[p.id for p in plan.priorities]
    )
    price = subscriptions.plan_price(plan)
    if price is not None:
        data.update(
            subscription_price=price.stripe_price_id, subscription_fallback=price.fallback_plan_id or 0
        )
    form = PlanForm(formdata=formdata, data=data, prefix=f"plan{plan.id}")
    if formdata is None:
        form.seen_change.data = str(credit_settings.settings_version("plan", plan.id))
    form.priorities.choices = [
        (p.id, p.name) for p in db.session.scalars(select(Priority).order_by(Priority.sort_order))
    ]
    form.subscription_fallback.choices = [(0, "The default plan")] + [
        (p.id, p.name) for p in credits.all_plans() if p.id != plan.id
    ]
    return form


def _save_plan(plan, form):
    """The plan's own settings (credits), then how it is sold by subscription (billing)."""
    fields = {f: getattr(form, f).data for f in credit_settings.PLAN_FIELDS}
    chosen = [db.session.get(Priority, pid) for pid in form.priorities.data]
    credit_settings.update_plan(
        plan,
        current_user,
        priorities=chosen,
        thresholds=form.thresholds.data,
        seen=_seen(form),
        **fields,
    )
    subscriptions.set_plan_price(
        plan,
        current_user,
        price_id=form.subscription_price.data,
        fallback_plan_id=form.subscription_fallback.data or None,
    )
    return plan


@bp.get("/plans")
def plans():
    forms = [(plan, _plan_form(plan)) for plan in credits.all_plans()]
    return render_template("credits/admin/plans.html", forms=forms)


@bp.post("/plans/<int:plan_id>")
@recent_authentication
def edit_plan(plan_id):
    plan = db.get_or_404(ServicePlan, plan_id)
    form, saved, stale = _plan_form(plan, request.form), False, False
    if form.validate_on_submit():
        outcome = perform(_save_plan, plan, form)
        saved = outcome.ok
        if isinstance(outcome.error, credit_settings.StaleSettings):
            stale = True
            _show_stale(form, _plan_form(plan), plan.name, outcome.error.changes)
        elif not outcome.ok:
            form.form_errors.append(outcome.message)
        else:  # the form, kept on the page (htmx), now shows this save
            form.seen_change.data = str(credit_settings.settings_version("plan", plan.id))
    if is_htmx():
        return render_page_or_block(
            "credits/admin/plans.html", "plan_form", forms=[(plan, form)], plan=plan, form=form, saved=saved
        )
    if saved:  # without JavaScript: back to every plan, this one in view
        flash(f"{plan.name} saved.", "success")
        return redirect(url_for("credits_admin.plans", _anchor=f"plan-{plan.id}"))
    forms = [(p, form if p.id == plan.id else _plan_form(p)) for p in credits.all_plans()]
    return render_template("credits/admin/plans.html", forms=forms), 409 if stale else 422


def _tariff_rows(refused=None):
    """Every priority with its form; `refused` (priority, form) keeps what was sent for that one."""
    return [
        (p, refused[1]) if refused is not None and p.id == refused[0].id else (p, _tariff_form(p))
        for p in db.session.scalars(select(Priority).order_by(Priority.sort_order))
    ]


def _tariff_form(priority):
    """The priority's stored tariff, with the version it shows."""
    form = TariffForm(formdata=None, obj=priority, round_the_clock=not priority.business_hours)
    form.seen_change.data = str(credit_settings.settings_version("tariff", priority.id))
    return form


def _seen(form):
    """The settings version the form was shown at, or None (a form without one is not checked)."""
    raw = (form.seen_change.data or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


# How a recorded change reads in the refusal of a stale form ("price 300").
_CHANGE_LABELS = {
    "credit_cost": "price",
    "response_minutes": "response target",
    "resolution_minutes": "resolution target",
    "resolution_refund_percent": "refund if resolved late",
    "name": "name",
    "description": "description",
    "credits_enabled": "credits enabled",
    "signup_grant": "sign-up grant",
    "monthly_allowance": "monthly allowance",
    "rollover_cap": "rollover cap",
    "billing_mode": "billing mode",
    "minute_rate": "credits per minute",
    "overdraft_floor": "overdraft floor",
    "guarantee": "response-target guarantee",
    "self_service": "self-service",
    "priorities": "priorities",
    "thresholds": "low-balance thresholds",
    "subscription_price": "Stripe price",
    "subscription_fallback": "when a subscription ends",
}
# The form field each recorded change is shown in (the same name unless listed).
_CHANGE_FIELDS = {"business_hours": "round_the_clock"}
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}\Z")


def _change_text(field, value):
    if field == "business_hours":
        return "targets on business hours" if value == "True" else "targets round the clock"
    label = _CHANGE_LABELS.get(field, field.replace("_", " "))
    if value is None or value == "":
        return f"{label} none" if field != "subscription_fallback" else f"{label}: the default plan"
    if value in ("True", "False"):
        return f"{label} {'on' if value == 'True' else 'off'}"
    if field == "subscription_fallback":
        plan_id = parse_id(value)
        fallback = db.session.get(ServicePlan, plan_id) if plan_id is not None else None
        return f"{label}: {fallback.name if fallback else value}"
    if _WHOLE_NUMBER.match(
        value
    ):  # ASCII digits: a plan named "²" is a name, not a number (int() refuses it)
        return f"{label} {format_number(int(value))}"
    if field == "description":
        return "description"  # its text could be long: the form below shows it
    return f"{label} “{value}”"


def _show_stale(form, current, name, changes):
    """A form refused because `changes` were saved after it was opened: say who changed what and
    when; show the current value in each field they changed, keep what was typed in the others,
    and carry the current version, so saving again (after checking) goes through."""
    latest = {}
    for change in changes:  # each field's last value, in the order the fields were first changed
        latest[change.field] = change.new_value
    for field in latest:
        target, shown = form[_CHANGE_FIELDS.get(field, field)], current[_CHANGE_FIELDS.get(field, field)]
        target.data, target.raw_data = shown.data, None
    form.seen_change.data = current.seen_change.data
    what = ", ".join(_change_text(field, value) for field, value in latest.items())
    form.form_errors.append(staleness.refusal(name, what=what, **staleness.recorded(changes)))


@bp.get("/tariffs")
def tariffs():
    return render_template("credits/admin/tariffs.html", rows=_tariff_rows())


@bp.post("/tariffs/<int:priority_id>")
@recent_authentication
def edit_tariff(priority_id):
    priority = db.get_or_404(Priority, priority_id)
    form, saved, stale = TariffForm(), False, False
    if form.validate_on_submit():
        outcome = perform(
            credit_settings.set_tariff,
            priority,
            current_user,
            credit_cost=form.credit_cost.data,
            response_minutes=form.response_minutes.data,
            resolution_minutes=form.resolution_minutes.data,
            business_hours=not form.round_the_clock.data,
            resolution_refund_percent=form.resolution_refund_percent.data or 0,
            seen=_seen(form),
        )
        saved = outcome.ok
        if isinstance(outcome.error, credit_settings.StaleSettings):
            stale = True
            _show_stale(form, _tariff_form(priority), priority.name, outcome.error.changes)
        elif not outcome.ok:  # beside the field the rule is about
            field = getattr(form, getattr(outcome.error, "field", ""), None)
            (field.errors if field is not None else form.form_errors).append(outcome.message)
        else:  # the row, kept on the page (htmx), now shows this save
            form.seen_change.data = str(credit_settings.settings_version("tariff", priority.id))
    if is_htmx():
        return render_page_or_block(
            "credits/admin/tariffs.html",
            "tariff_row",
            rows=[(priority, form)],
            p=priority,
            form=form,
            saved=saved,
        )
    if saved:  # without JavaScript: back to every priority, this one in view
        flash(f"{priority.name} saved.", "success")
        return redirect(url_for("credits_admin.tariffs", _anchor=f"tariff-{priority.id}"))
    status = 409 if stale else 422
    return render_template("credits/admin/tariffs.html", rows=_tariff_rows((priority, form))), status


@bp.get("/alerts")
def alerts():
    return render_page_or_block(
        "credits/admin/alerts.html", "alert_list", page=paginate(credit_alerts.open_alerts_query())
    )


@bp.post("/alerts/<int:alert_id>/ack")
def acknowledge(alert_id):
    perform(credit_alerts.acknowledge, db.get_or_404(CreditAlert, alert_id))
    return redirect(url_for("credits_admin.alerts"))


def alerts_banner(user):
    if not policy.can_manage_credits(user):
        return []
    count = layout_count("credit_alerts")
    if not count:
        return []
    text = (
        f"{count} credit alert{'s' if count != 1 else ''} (low balances, unbilled time, refunds) to review."
    )
    return [{"level": "info", "text": text, "link": url_for("credits_admin.alerts"), "link_text": "Review"}]
