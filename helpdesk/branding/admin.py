"""The branding page (/admin/branding): the desk's name, logo and accent colour."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk.access import admin_blueprint
from helpdesk.actions import perform
from helpdesk.branding import settings
from helpdesk.branding.forms import BrandingForm, RemoveLogoForm
from helpdesk.branding.models import SETTINGS_ID, DeskSettings
from helpdesk.confirming import ask_first
from helpdesk.extensions import db
from helpdesk.tickets.uploads import human_size
from helpdesk.web import format_datetime

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
    return _page(_stored_form())


def _stored_form():
    """The form with what is stored, and the version it shows."""
    brand = settings.read()
    stored_name = brand.name if brand.name != settings.DEFAULT_NAME else ""
    row = db.session.get(DeskSettings, SETTINGS_ID)
    data = {"name": stored_name, "accent": brand.accent or "", "seen": settings.version_of(row)}
    return BrandingForm(formdata=None, data=data)


def _stale(form, row):
    """Saved after someone else's save: nothing was saved. Say who and when and what is stored
    now; keep what was typed and carry the current version, so saving again replaces it."""
    if row is None:
        said = "The branding was reset"
    else:
        who = row.changed_by.name if row.changed_by else "someone"
        said = f"The branding was changed by {who} at {format_datetime(row.changed_at)}"
    now = (
        f"desk name “{(row.name if row else None) or settings.DEFAULT_NAME}”, "
        f"accent {(row.accent if row else None) or 'the default'}, "
        f"{'an uploaded' if row is not None and row.logo_id else 'the standard'} logo"
    )
    form.form_errors.append(
        f"{said} after you opened this page; nothing was saved. It now has {now}. The form still "
        "shows what you typed (choose a logo again if you picked one): save again to replace it."
    )
    form.seen.data = settings.version_of(row)
    return _page(form, 409)


@bp.post("/branding")
def save():
    form = BrandingForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    upload = request.files.get("logo")
    logo = None
    if upload is not None and upload.filename:
        logo = (upload.filename, upload.read(settings.logo_limit() + 1))
    if upload is not None:
        upload.close()
    outcome = perform(
        settings.save,
        current_user,
        name=form.name.data,
        accent=form.accent.data,
        logo=logo,
        seen=form.seen.data or None,
    )
    if isinstance(outcome.error, settings.BrandingStale):
        return _stale(form, db.session.get(DeskSettings, SETTINGS_ID))
    if not outcome.ok:
        field = getattr(outcome.error, "field", "logo")
        form[field].errors = [*form[field].errors, outcome.message]
        return _page(form, 422)
    flash("Branding saved.", "success")
    return redirect(url_for("branding_admin.page"))


@bp.post("/branding/logo/remove")
def remove_logo():
    if not RemoveLogoForm().validate_on_submit():
        return _page(_stored_form(), 400)
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
