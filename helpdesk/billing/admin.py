"""Billing admin pages: packs, payments, phone orders, alerts and the revenue and credit report."""

from functools import wraps

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from .. import policy
from ..errors import DomainError
from ..extensions import db
from ..htmx import render_page_or_block
from ..models import PAYMENT_STATUSES, CreditPack
from ..models.billing import PAYMENT_STATUS_LABELS
from ..services import billing, billing_reports
from ..web import paginate
from .blueprint import bp
from .forms import PackForm, PaymentFilter, PhoneOrderForm
from .views import return_urls

REPORT_MONTHS = (12, 24, 36)


def billing_admin_only(view):
    """Logged-in helpdesk admins only (others: 403)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not policy.can_manage_billing(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/admin/payments")
@billing_admin_only
def admin_payments():
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


@bp.get("/admin/packs")
@billing_admin_only
def admin_packs():
    query = db.select(CreditPack).order_by(CreditPack.active.desc(), CreditPack.price)
    page = paginate(query)
    return render_template("billing/admin/packs.html", page=page)


@bp.route("/admin/packs/new", methods=["GET", "POST"], defaults={"pack_id": None})
@bp.route("/admin/packs/<int:pack_id>/edit", methods=["GET", "POST"])
@billing_admin_only
def admin_pack_form(pack_id):
    pack = db.get_or_404(CreditPack, pack_id) if pack_id else None
    form = PackForm.for_pack(pack, default_currency=current_app.config["CURRENCY"])
    if form.validate_on_submit():
        try:
            fields = dict(credits=form.credits.data, price=form.price_minor(), active=form.active.data)
            billing.save_pack(pack, name=form.name.data, currency=form.currency.data, **fields)
            db.session.commit()
            flash("Pack saved.", "success")
            return redirect(url_for("billing.admin_packs"))
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
    return render_template("billing/admin/pack_form.html", form=form, pack=pack)


@bp.post("/admin/packs/<int:pack_id>/delete")
@billing_admin_only
def admin_pack_delete(pack_id):
    pack = db.get_or_404(CreditPack, pack_id)
    try:
        billing.delete_pack(pack)
        db.session.commit()
        flash("Pack deleted.", "success")
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("billing.admin_packs"))


@bp.route("/admin/phone-order", methods=["GET", "POST"])
@billing_admin_only
def admin_phone_order():
    form = PhoneOrderForm()
    form.pack_id.choices = [
        SelectChoice(p.id, f"{p.name}: {p.credits} credits") for p in billing.active_packs()
    ]
    if request.method == "GET":
        form.nonce.data = billing.new_nonce()
    elif form.validate_on_submit():
        try:
            customer = billing.customer_by_email(form.email.data)
            payment = billing.start_checkout(
                customer, form.pack_id.data, form.nonce.data, actor=current_user, return_urls=return_urls()
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            link = url_for("billing.pay_link", payment_id=payment.id, _external=True)
            return render_template("billing/admin/phone_order_done.html", payment=payment, link=link)
    return render_template("billing/admin/phone_order.html", form=form)


@bp.get("/admin/report")
@billing_admin_only
def admin_report():
    months = request.args.get("months", type=int)
    months = months if months in REPORT_MONTHS else REPORT_MONTHS[0]
    report = billing_reports.monthly_report(months)
    return render_template("billing/admin/report.html", report=report, months=months, choices=REPORT_MONTHS)


@bp.get("/admin/report.csv")
@billing_admin_only
def admin_report_csv():
    months = request.args.get("months", type=int)
    report = billing_reports.monthly_report(months if months in REPORT_MONTHS else REPORT_MONTHS[0])
    headers = {"Content-Disposition": "attachment; filename=billing-report.csv"}
    return Response(billing_reports.report_csv(report), mimetype="text/csv", headers=headers)


@bp.get("/admin/alerts")
@billing_admin_only
def admin_alerts():
    page = paginate(billing.open_alerts())
    return render_template("billing/admin/alerts.html", page=page)


@bp.post("/admin/alerts/<int:alert_id>/resolve")
@billing_admin_only
def admin_alert_resolve(alert_id):
    try:
        billing.resolve_alert(alert_id, current_user)
        db.session.commit()
        flash("Alert marked as dealt with.", "success")
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("billing.admin_alerts"))
