"""Mail admin views: outbox list and message, retry, HTML part, inbound log. Admins only."""

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from .. import policy
from ..access import require
from ..auth.views import safe_next
from ..extensions import db
from ..htmx import is_htmx, render_page_or_block
from ..models import InboundMail, OutboxMessage
from ..services import mail_admin, mail_delivery
from ..web import paginate, register_nav

bp = Blueprint("mailadmin", __name__)

# The HTML part of a mail is our own template, yet shown as a document that can do nothing.
HTML_PART_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


@bp.before_request
@require(policy.can_administer)
def require_admin():
    """Admins only; anyone else gets 404, like every other admin page."""


@bp.get("/")
def outbox():
    status = mail_admin.outbox_filter(request.args.get("status", ""))
    page = paginate(mail_admin.outbox_query(status))
    return render_page_or_block(
        "mailadmin/outbox.html",
        "outbox_list",
        page=page,
        current_status=status,
        statuses=mail_admin.STATUS_TABS,
    )


@bp.get("/<int:row_id>")
def message(row_id):
    row = db.get_or_404(OutboxMessage, row_id)
    return render_template("mailadmin/message.html", row=row, headers=mail_admin.display_headers(row))


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
    mail_delivery.retry(row)
    db.session.commit()
    if is_htmx():
        return _row(row)
    return redirect(safe_next(request.form.get("back")) or url_for("mailadmin.outbox", status="failed"))


def _row(row):
    response = make_response(render_template("mailadmin/_outbox_row.html", row=row))
    response.vary.add("HX-Request")
    return response


@bp.get("/inbound")
def inbound():
    page = paginate(mail_admin.inbound_query())
    return render_page_or_block("mailadmin/inbound.html", "inbound_list", page=page)


@bp.get("/inbound/<int:entry_id>")
def inbound_entry(entry_id):
    entry = db.get_or_404(InboundMail, entry_id)
    return render_template("mailadmin/inbound_entry.html", entry=entry, raw=mail_admin.raw_text(entry))


def mail_nav(user):
    return [("Mail", "mailadmin.outbox")] if policy.can_administer(user) else []


def init_app(app):
    app.register_blueprint(bp, url_prefix="/admin/mail")
    register_nav(app, mail_nav, order=90)
