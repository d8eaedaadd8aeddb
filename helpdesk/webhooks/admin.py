"""Webhook admin pages under /admin/webhooks: endpoints, their secret, delivery log, redeliver.
Admins only (admin_blueprint: others get 404)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import staleness
from helpdesk.access import admin_blueprint
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.extensions import db
from helpdesk.htmx import render_page_or_block
from helpdesk.tickets.forms import new_submission_key
from helpdesk.web import paginate
from helpdesk.webhooks import endpoints as service
from helpdesk.webhooks.forms import ActionForm, EditEndpointForm, NewEndpointForm
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
        form=form or _stored_form(endpoint),
        action=ActionForm(),
        page=page,
        waiting=service.waiting(endpoint),
        requested_url=service.requested_url(endpoint),
    )


def _stored_form(endpoint):
    """The settings form with what is stored, and the version it shows."""
    form = EditEndpointForm(obj=endpoint, formdata=None)
    form.seen.data = service.version_of(endpoint)
    return form


@bp.get("/<int:endpoint_id>")
def endpoint(endpoint_id):
    return _endpoint_page(db.get_or_404(WebhookEndpoint, endpoint_id))


@bp.post("/<int:endpoint_id>")
def edit(endpoint_id):
    item = db.get_or_404(WebhookEndpoint, endpoint_id)
    form = EditEndpointForm()
    if form.validate_on_submit():
        seen = form.seen.data or None
        outcome = perform(service.update_endpoint, item, current_user, seen=seen, **_fields(form))
        if outcome.ok:
            flash("Endpoint saved.", "success")
            return redirect(url_for("webhooks_admin.endpoint", endpoint_id=item.id))
        if isinstance(outcome.error, service.EndpointStale):
            return _stale(item, form)
        _show_error(form, outcome)
    return _endpoint_page(item, form, status=422)


def _stale(endpoint, form):
    """The form saved after someone else changed the endpoint: nothing was saved. Say who made the
    latest change and what it was, and where the stored settings differ from what was typed; the
    form keeps what was typed and carries the current version, so saving again replaces them (as
    the business hours' form does)."""
    change, what = service.last_change(endpoint)
    differ = _differences(endpoint, form)
    then = "The form still shows what you typed: save again to replace them."
    if differ:
        then = f"The stored settings differ from yours in {'; '.join(differ)}. {then}"
    form.form_errors.append(
        staleness.refusal(
            "This endpoint",
            actors=[staleness.actor_name(change)] if change else (),
            at=endpoint.updated_at,
            what=what,
            opened="this page",
            then=then,
        )
    )
    form.seen.data = service.version_of(endpoint)
    return _endpoint_page(endpoint, form, status=409)


def _differences(endpoint, form):
    """Where the stored settings differ from what was typed, as the refusal names them."""
    stored_events = [name for name in EVENT_TYPES if name in (endpoint.events or ())]
    typed_events = [name for name in EVENT_TYPES if name in (form.events.data or ())]
    found = []
    if endpoint.url != (form.url.data or ""):
        found.append(f"URL: {endpoint.url}")
    if stored_events != typed_events:
        found.append(f"events: {', '.join(stored_events) or 'none'}")
    if endpoint.description != (form.description.data or ""):
        found.append(
            f"description: “{endpoint.description}”" if endpoint.description else "description: none"
        )
    if endpoint.internal_notes != bool(form.internal_notes.data):
        found.append("internal notes: " + ("sent" if endpoint.internal_notes else "not sent"))
    return found


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
