"""Files on the web: downloads through the policy (a file you may not see answers 404), and the
staging of files sent with a form, kept whatever happens to the rest of it."""

from flask import abort, render_template, request, send_file
from flask_login import current_user, login_required

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.errors import NotFound, StorageError
from helpdesk.extensions import db
from helpdesk.formfields import parse_id
from helpdesk.tickets import uploads
from helpdesk.tickets.blueprints import files_bp as bp
from helpdesk.tickets.models import Attachment


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def attachment(attachment_id, filename):
    """The file, streamed through the app after the policy check (from S3 too: no URL that works
    without the check, and the same headers whatever the store); 404 if you may not see it."""
    item = db.session.get(Attachment, attachment_id)
    if item is None or not policy.can_download_attachment(current_user, item):
        abort(404)
    try:
        stored = uploads.open_stored(item)
    except NotFound:
        abort(404)
    except StorageError as exc:
        page = render_template("core/error.html", code=503, title="File not available", text=str(exc))
        return page, 503, {"Retry-After": "30"}
    response = send_file(
        stored.stream,
        mimetype=item.content_type,
        as_attachment=True,
        download_name=item.filename,
        max_age=0,
    )
    response.content_length = stored.size
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def stage_form_files(staging_key, field_name="attachments"):
    """Keep the files sent with the current form under `staging_key` (after the upload checks),
    and drop those the user chose to remove ("remove_staged"); committed at once, so good files
    survive a form refused for another reason and never have to be picked again.

    Returns (the files staged under the key, upload error messages).
    """
    removed = [i for i in map(parse_id, request.form.getlist("remove_staged")) if i]
    files = [(f.filename, f.read()) for f in request.files.getlist(field_name) if f and f.filename]
    if not removed and not files:  # nothing to keep: no transaction of its own
        return StagedLater(current_user.id, staging_key), []

    def stage():
        if removed:
            uploads.discard_staged(current_user, staging_key, removed)
        return uploads.stage_files(current_user, staging_key, files)

    outcome = perform(stage)
    return outcome.value if outcome.ok else ([], [outcome.message])


class StagedLater:
    """The files staged under a key, looked up only when a page shows them: a form accepted at
    once (most are) never does, and its service claims them in its own transaction."""

    def __init__(self, uploader_id, staging_key):
        self.uploader_id, self.staging_key, self._items = uploader_id, staging_key, None

    def _load(self):
        if self._items is None:
            self._items = uploads.staged_for(self.uploader_id, self.staging_key)
        return self._items

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())

    def __bool__(self):
        return bool(self._load())
