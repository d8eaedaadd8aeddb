"""Webhook admin pages under /admin/webhooks: endpoints, their secret, delivery log, redeliver.
Admins only (admin_blueprint: others get 404)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk.access import admin_blueprint
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.extensions import db
from helpdesk.htmx import render_page_or_block
from helpdesk.tickets.forms import new_submission_key
from helpdesk.web import paginate
from helpdesk.webhooks import endpoints as service
from helpdesk.webhooks.forms import ActionForm, EndpointForm, NewEndpointForm
from helpdesk.webhooks.models import EVENT_TYPES, WebhookEndpoint

bp = admin_blueprint("webhooks_admin", __name__)


def _show_error(form, outcome):
    """The service's refusal beside the field it is about (the URL, the events), else above the form."""
    field = getattr(form, getattr(outcome.error, "field", ""), None)
    (field.errors if field is not None else form.form_errors).append(outcome.message)


def _fields(form):
    return dict(
        url=form.url.data,
        events=form.events.data or [],
        description=form.description.data or "",
        internal_notes=form.internal_notes.data,
    )


@bp.get("/")
def index():
    page = paginate(service.endpoints_query())
    return render_template("webhooks/index.html", page=page, events=EVENT_TYPES)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = NewEndpointForm()
    if request.method == "GET":
        form.submission_key.data = new_submission_key()
    elif form.validate_on_submit():
        outcome = perform(
            service.create_endpoint, current_user, submission_key=form.submission_key.data, **_fields(form)
        )
        if outcome.ok:
            endpoint, created = outcome.value
            if created:
                flash(
                    "Endpoint added. Its signing secret is shown below: give it to the receiver.", "success"
                )
            else:  # this form again (a double click, back and resubmit): one endpoint, not two
                flash(
                    f"Already added: this form added the endpoint for {endpoint.url} before. Nothing was "
                    "added again.",
                    "info",
                )
            return redirect(url_for("webhooks_admin.endpoint", endpoint_id=endpoint.id))
        _show_error(form, outcome)
    # refused: the form again as typed, with its key, and 422 like the app's other refused forms
    status = 422 if request.method == "POST" else 200
    return render_template("webhooks/form.html", form=form, endpoint=None), status


def _endpoint_page(endpoint, form=None, status=200):
    page = paginate(service.attempts_query(endpoint))
    return render_page_or_block(
        "webhooks/endpoint.html",
        "delivery_log",
        status=status,
        endpoint=endpoint,
        form=form or EndpointForm(obj=endpoint, formdata=None),
        action=ActionForm(),
        page=page,
        waiting=service.waiting(endpoint),
        requested_url=service.requested_url(endpoint),
    )


@bp.get("/<int:endpoint_id>")
def endpoint(endpoint_id):
    return _endpoint_page(db.get_or_404(WebhookEndpoint, endpoint_id))


@bp.post("/<int:endpoint_id>")
def edit(endpoint_id):
    item = db.get_or_404(WebhookEndpoint, endpoint_id)
    form = EndpointForm()
    if form.validate_on_submit():
        outcome = perform(service.update_endpoint, item, current_user, **_fields(form))
        if outcome.ok:
            flash("Endpoint saved.", "success")
            return redirect(url_for("webhooks_admin.endpoint", endpoint_id=item.id))
        _show_error(form, outcome)
    return _endpoint_page(item, form, status=422)


@bp.post("/<int:endpoint_id>/rotate")
@recent_authentication
def rotate(endpoint_id):
    item = db.get_or_404(WebhookEndpoint, endpoint_id)
    question = ask_first(
        "Rotate the signing secret?",
        f"Deliveries to {item.url} are signed with a new secret from now on; the receiver must be "
        "given it, or it will refuse them.",
        "Rotate secret",
    )
    if question is not None:
        return question
    perform(service.rotate_secret, item, current_user)
    flash("New signing secret made: it is shown below.", "success")
    return redirect(url_for("webhooks_admin.endpoint", endpoint_id=item.id))


@bp.post("/<int:endpoint_id>/enabled")
def set_enabled(endpoint_id):
    item = db.get_or_404(WebhookEndpoint, endpoint_id)
    enabled = request.form.get("enabled") == "1"
    perform(service.set_enabled, item, current_user, enabled)
    flash("Endpoint enabled: waiting deliveries are sent." if enabled else "Endpoint disabled.", "success")
    return redirect(url_for("webhooks_admin.endpoint", endpoint_id=item.id))


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id):
    item = db.get_or_404(WebhookEndpoint, endpoint_id)
    question = ask_first(
        f"Delete the endpoint {item.url}?",
        "It receives nothing more, and its delivery log is deleted with it.",
        "Delete endpoint",
        cancel_url=url_for("webhooks_admin.endpoint", endpoint_id=item.id),
    )
    if question is not None:
        return question
    url = item.url
    perform(service.delete_endpoint, item, current_user)
    flash(f"Endpoint {url} deleted.", "success")
    return redirect(url_for("webhooks_admin.index"))


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
def redeliver(endpoint_id, delivery_id):
    item = db.get_or_404(WebhookEndpoint, endpoint_id)
    delivery = service.delivery_of(item, delivery_id)
    if delivery is None:
        abort(404)
    outcome = perform(service.redeliver, delivery, current_user)
    if outcome.ok:
        flash(f"Event {delivery.event_id} queued again: the worker sends it within moments.", "success")
    else:
        flash(outcome.message, "error")
    return redirect(url_for("webhooks_admin.endpoint", endpoint_id=item.id))
