"""Mail admin views: outbox list and message, retry, HTML part, inbound log. Admins only."""

from flask import make_response, redirect, render_template, request, url_for

from helpdesk.access import admin_blueprint
from helpdesk.actions import perform
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx, render_fragment, render_page_or_block
from helpdesk.mail import delivery as mail_delivery
from helpdesk.mail import logs as mail_admin
from helpdesk.mail.models import InboundMail, OutboxMessage
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
    perform(mail_delivery.retry, row)
    if is_htmx():
        return _row(row)
    return redirect(safe_next(request.form.get("back")) or url_for("mail_admin.outbox", status="failed"))


def _row(row):
    response = render_fragment("mail/admin/_outbox_row.html", row=row)
    return response


@bp.get("/inbound")
def inbound():
    page = paginate(mail_admin.inbound_query())
    return render_page_or_block("mail/admin/inbound.html", "inbound_list", page=page)


@bp.get("/inbound/<int:entry_id>")
def inbound_entry(entry_id):
    entry = db.get_or_404(InboundMail, entry_id)
    return render_template("mail/admin/inbound_entry.html", entry=entry, raw=mail_admin.raw_text(entry))
