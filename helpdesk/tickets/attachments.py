"""Attachment downloads, for every role, through the policy (a file you may not see answers 404)."""

from flask import abort, send_file
from flask_login import current_user, login_required

from helpdesk import policy
from helpdesk.extensions import db
from helpdesk.tickets import uploads
from helpdesk.tickets.blueprints import files_bp as bp
from helpdesk.tickets.models import Attachment


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def attachment(attachment_id, filename):
    item = db.session.get(Attachment, attachment_id)
    if item is None or not policy.can_download_attachment(current_user, item):
        abort(404)
    response = send_file(
        uploads.path_of(item),
        mimetype=item.content_type,
        as_attachment=True,
        download_name=item.filename,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
