"""Mail admin views: outbox list and message, retry, HTML part, inbound log with the review of
held mail (accept as the sender, discard). Admins only."""

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk.access import admin_blueprint
from helpdesk.actions import perform
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx, render_fragment, render_page_or_block
from helpdesk.mail import delivery as mail_delivery
from helpdesk.mail import logs as mail_admin
from helpdesk.mail import review as mail_review
from helpdesk.mail.models import INBOUND_NEW_TICKET, InboundMail, OutboxMessage
from helpdesk.web import paginate, safe_next

bp = admin_blueprint("mail_admin", __name__)

# The HTML part of a mail is our own template, yet shown as a document that can do nothing.
HTML_PART_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


@bp.get("/")
def outbox():
    status = mail_admin.outbox_filter(request.args.get("status", ""))
    page = paginate(mail_admin.outbox_query(status))
    return render_page_or_block(
        "mail/admin/outbox.html",
        "outbox_list",
        page=page,
        current_status=status,
        statuses=mail_admin.STATUS_TABS,
        labels=mail_admin.OUTBOX_LABELS,
    )


@bp.get("/<int:row_id>")
def message(row_id):
    row = db.get_or_404(OutboxMessage, row_id)
    return render_template("mail/admin/message.html", row=row, headers=mail_admin.display_headers(row))


@bp.get("/<int:row_id>/html")
def message_html(row_id):
    row = db.get_or_404(OutboxMessage, row_id)
    response = make_response(row.body_html or "")
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = HTML_PART_CSP
    return response


@bp.post("/<int:row_id>/retry")
def retry(row_id):
    row = db.get_or_404(OutboxMessage, row_id)
    outcome = perform(mail_delivery.retry, row)
    if is_htmx():
        return _row(row)
    if outcome.ok:  # the row leaves the list of failed mail: say where it went
        flash(
            f"The mail to {row.to_addr} (“{row.subject}”) is queued again: the worker sends it next.",
            "success",
        )
    else:
        flash(outcome.message, "error")
    return redirect(safe_next(request.form.get("back")) or url_for("mail_admin.outbox", status="failed"))


def _row(row):
    response = render_fragment("mail/admin/_outbox_row.html", row=row, labels=mail_admin.OUTBOX_LABELS)
    return response


@bp.get("/inbound")
def inbound():
    outcome = mail_admin.inbound_filter(request.args.get("outcome", ""))
    page = paginate(mail_admin.inbound_query(outcome))
    return render_page_or_block(
        "mail/admin/inbound.html",
        "inbound_list",
        page=page,
        current_outcome=outcome,
        outcomes=mail_admin.INBOUND_TABS,
        labels=mail_admin.OUTCOME_LABELS,
        held=mail_admin.unverified_count(),
        warning=mail_admin.setup_warning(),
    )


@bp.get("/inbound/<int:entry_id>")
def inbound_entry(entry_id):
    entry = db.get_or_404(InboundMail, entry_id)
    return render_template(
        "mail/admin/inbound_entry.html",
        entry=entry,
        raw=mail_admin.raw_text(entry),
        labels=mail_admin.OUTCOME_LABELS,
    )


@bp.post("/inbound/<int:entry_id>/accept")
def accept(entry_id):
    entry = db.get_or_404(InboundMail, entry_id)
    outcome = perform(mail_review.accept, entry, current_user)
    posted = "a new ticket" if entry.outcome == INBOUND_NEW_TICKET else "a reply on ticket"
    done = f"Posted as {entry.from_addr}: {posted} #{entry.ticket_id}."
    return _reviewed(entry, outcome, done if outcome.ok else None)


@bp.post("/inbound/<int:entry_id>/discard")
def discard(entry_id):
    entry = db.get_or_404(InboundMail, entry_id)
    outcome = perform(mail_review.discard, entry, current_user)
    return _reviewed(entry, outcome, f"Discarded the message from {entry.from_addr or '(no sender)'}.")


def _reviewed(entry, outcome, done):
    """The entry's row again for htmx (with the result in it), else back where the admin was."""
    message, category = (done, "success") if outcome.ok else (outcome.message, "error")
    if is_htmx():
        return render_fragment(
            "mail/admin/_inbound_row.html",
            entry=entry,
            labels=mail_admin.OUTCOME_LABELS,
            notice=message,
            notice_is_error=not outcome.ok,
        )
    flash(message, category)
    return redirect(
        safe_next(request.form.get("back")) or url_for("mail_admin.inbound_entry", entry_id=entry.id)
    )
