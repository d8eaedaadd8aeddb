"""The branding page (/admin/branding): the desk's name, logo and accent colour."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk.access import admin_blueprint
from helpdesk.actions import perform
from helpdesk.branding import settings
from helpdesk.branding.forms import BrandingForm, RemoveLogoForm
from helpdesk.confirming import ask_first
from helpdesk.tickets.uploads import human_size

bp = admin_blueprint("branding_admin", __name__)


def _page(form, status=200):
    brand = settings.read()
    return render_template(
        "branding/admin.html",
        form=form,
        brand=brand,
        remove_form=RemoveLogoForm(formdata=None),
        logo_limit=human_size(settings.logo_limit()),
        default_name=settings.DEFAULT_NAME,
    ), status


@bp.get("/branding")
def page():
    brand = settings.read()
    stored_name = brand.name if brand.name != settings.DEFAULT_NAME else ""
    return _page(BrandingForm(formdata=None, data={"name": stored_name, "accent": brand.accent or ""}))


@bp.post("/branding")
def save():
    form = BrandingForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    upload = request.files.get("logo")
    logo = None
    if upload is not None and upload.filename:
        logo = (upload.filename, upload.read(settings.logo_limit() + 1))
    if upload is not None:
        upload.close()
    outcome = perform(settings.save, current_user, name=form.name.data, accent=form.accent.data, logo=logo)
    if not outcome.ok:
        field = getattr(outcome.error, "field", "logo")
        form[field].errors = [*form[field].errors, outcome.message]
        return _page(form, 400)
    flash("Branding saved.", "success")
    return redirect(url_for("branding_admin.page"))


@bp.post("/branding/logo/remove")
def remove_logo():
    if not RemoveLogoForm().validate_on_submit():
        return _page(BrandingForm(formdata=None), 400)
    question = ask_first(
        "Remove the logo?",
        "Every page shows the standard logo again.",
        "Remove logo",
        cancel_url=url_for("branding_admin.page"),
    )
    if question is not None:
        return question
    outcome = perform(settings.remove_logo, current_user)
    flash("Logo removed." if outcome.ok and outcome.value else "There was no logo to remove.", "success")
    return redirect(url_for("branding_admin.page"))
