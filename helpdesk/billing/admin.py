"""Billing admin pages: packs, payments, phone orders, alerts and the revenue and credit report."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from helpdesk import money, staleness
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.billing import purchases as billing
from helpdesk.billing import revenue as billing_reports
from helpdesk.billing import subscriptions as billing_subscriptions
from helpdesk.billing.blueprints import admin_bp
from helpdesk.billing.forms import PackForm, PaymentFilter, PhoneOrderForm
from helpdesk.billing.models import PAYMENT_STATUS_LABELS, PAYMENT_STATUSES, CreditPack
from helpdesk.billing.portal import return_urls
from helpdesk.confirming import ask_first
from helpdesk.credits import plans as credit_settings
from helpdesk.csvexport import csv_response
from helpdesk.extensions import db
from helpdesk.htmx import render_page_or_block
from helpdesk.web import paginate

REPORT_MONTHS = (12, 24, 36)


@admin_bp.get("/")
def index():
    return redirect(url_for("billing_admin.payments"))


@admin_bp.get("/payments")
def payments():
    filters = PaymentFilter(request.args, PAYMENT_STATUSES)
    query = billing.admin_payments(filters.status)
    page = paginate(query, page=filters.page)
    return render_page_or_block(
        "billing/admin/payments.html",
        "payment_table",
        page=page,
        filters=filters,
        labels=PAYMENT_STATUS_LABELS,
    )


@admin_bp.get("/packs")
def packs():
    query = db.select(CreditPack).order_by(CreditPack.active.desc(), CreditPack.price)
    page = paginate(query)
    return render_template("billing/admin/packs.html", page=page)


@admin_bp.route("/packs/new", methods=["GET", "POST"], defaults={"pack_id": None})
@admin_bp.route("/packs/<int:pack_id>/edit", methods=["GET", "POST"])
@recent_authentication
def pack_form(pack_id):
    pack = db.get_or_404(CreditPack, pack_id) if pack_id else None
    form = PackForm.for_pack(pack, default_currency=current_app.config["CURRENCY"])
    if pack is not None and request.method == "GET":
        form.seen_change.data = str(credit_settings.settings_version("pack", pack.id))
    status = 200
    if form.validate_on_submit():
        fields = dict(credits=form.credits.data, price=form.price_minor(), active=form.active.data)
        seen = staleness.seen_number(form.seen_change.data)
        outcome = perform(
            billing.save_pack,
            pack,
            name=form.name.data,
            currency=form.currency.data,
            actor=current_user,
            seen=seen,
            **fields,
        )
        if outcome.ok:
            flash("Pack saved.", "success")
            return redirect(url_for("billing_admin.packs"))
        if isinstance(outcome.error, credit_settings.StaleSettings):
            _show_stale_pack(form, pack, outcome.error.changes)
            status = 409
        else:
            form.form_errors.append(outcome.message)
    if status == 200 and form.errors:  # with form_errors (WTForms 3 lists them under None)
        status = 422  # refused: the form again, with what was typed and why
    return render_template("billing/admin/pack_form.html", form=form, pack=pack), status


def _pack_value(field, value, pack):
    """A pack's field as the refusal of a stale form names it."""
    if field == "price":
        return f"price {money.format_money(int(value), pack.currency)}"
    if field == "credits":
        return f"{int(value):,} credits"
    if field == "active":
        return "on sale" if value == "True" else "not on sale"
    return f"{field} “{value}”"


def _show_stale_pack(form, pack, changes):
    """The form saved after someone else saved the same pack: nothing was saved. Say who changed
    what; a field they changed shows its stored value unless this form changed it too (it then
    keeps what was typed), and the form carries the current version, so saving again goes through."""
    shown, latest = {}, {}
    for change in changes:  # what the form showed of each field, and its latest value
        shown.setdefault(change.field, change.old_value)
        latest[change.field] = change.new_value
    typed = {
        "name": (form.name.data or "").strip(),
        "credits": form.credits.data,
        "price": form.price_minor(),
        "currency": (form.currency.data or "").lower(),
        "active": bool(form.active.data),
    }
    stored = PackForm.for_pack(pack, default_currency=pack.currency, formdata=None)
    for field in latest:
        if str(typed[field]) == shown[field]:  # left as it was shown: the stored value now
            form[field].data, form[field].raw_data = stored[field].data, None
    form.seen_change.data = str(credit_settings.settings_version("pack", pack.id))
    what = ", ".join(_pack_value(field, value, pack) for field, value in latest.items())
    form.form_errors.append(staleness.refusal(pack.name, what=what, **staleness.recorded(changes)))


@admin_bp.post("/packs/<int:pack_id>/delete")
@recent_authentication
def pack_delete(pack_id):
    pack = db.get_or_404(CreditPack, pack_id)
    asked = ask_first(
        f"Delete the pack {pack.name}?",
        f"Customers can no longer buy {pack.name} ({pack.credits:,} credits). This cannot be undone.",
        "Delete pack",
        cancel_url=url_for("billing_admin.packs"),
    )
    if asked:
        return asked
    outcome = perform(billing.delete_pack, pack)
    flash("Pack deleted." if outcome.ok else outcome.message, "success" if outcome.ok else "error")
    return redirect(url_for("billing_admin.packs"))


@admin_bp.route("/phone-order", methods=["GET", "POST"])
@recent_authentication
def phone_order():
    form = PhoneOrderForm()
    form.pack_id.choices = [SelectChoice(p.id, p.label) for p in billing.active_packs()]
    if request.method == "GET":
        form.nonce.data = billing.new_nonce()
    elif form.validate_on_submit():
        outcome = perform(_phone_order, form)
        if not outcome.ok:
            form.form_errors.append(outcome.message)
        else:
            payment = outcome.value
            link = url_for("billing.pay_link", payment_id=payment.id, _external=True)
            return render_template("billing/admin/phone_order_done.html", payment=payment, link=link)
    return render_template("billing/admin/phone_order.html", form=form)


def _phone_order(form):
    customer = billing.customer_by_email(form.email.data)
    return billing.start_checkout(
        customer, form.pack_id.data, form.nonce.data, actor=current_user, return_urls=return_urls()
    )


@admin_bp.get("/report")
def report():
    months = request.args.get("months", type=int)
    months = months if months in REPORT_MONTHS else REPORT_MONTHS[0]
    report = billing_reports.monthly_report(months)
    return render_template("billing/admin/report.html", report=report, months=months, choices=REPORT_MONTHS)


@admin_bp.get("/report.csv")
def report_csv():
    months = request.args.get("months", type=int)
    report = billing_reports.monthly_report(months if months in REPORT_MONTHS else REPORT_MONTHS[0])
    rows = billing_reports.report_csv_rows(report)
    return csv_response("billing-report.csv", billing_reports.CSV_COLUMNS, rows)


@admin_bp.get("/subscriptions")
def subscriptions():
    page = paginate(billing_subscriptions.admin_list())
    return render_template("billing/admin/subscriptions.html", page=page)


@admin_bp.get("/alerts")
def alerts():
    page = paginate(billing.open_alerts())
    return render_template("billing/admin/alerts.html", page=page)


@admin_bp.post("/alerts/<int:alert_id>/resolve")
def alert_resolve(alert_id):
    outcome = perform(billing.resolve_alert, alert_id, current_user)
    flash(
        "Alert marked as dealt with." if outcome.ok else outcome.message, "success" if outcome.ok else "error"
    )
    return redirect(url_for("billing_admin.alerts"))
