"""Attachment storage: names normalised, type and size checked, files kept outside the web root."""

import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from helpdesk.dbtypes import utcnow
from helpdesk.errors import UploadRejected
from helpdesk.extensions import db
from helpdesk.tickets.models import Attachment

MAX_ID = 2**31 - 1  # ids beyond the column's range match nothing (and must not reach the query)

# Allowed extensions and the content type we serve them with (never the client's claim).
ALLOWED_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "zip": "application/zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "eml": "message/rfc822",
}
# Leading bytes a file of that type must start with (formats with a signature).
MAGIC = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
    "pdf": (b"%PDF-",),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
}
TEXT_TYPES = {"txt", "log", "csv", "json", "eml"}


@dataclass
class CheckedFile:
    """An upload that passed every check, held in memory until stored."""

    filename: str
    content_type: str
    data: bytes


def human_size(size):
    """1048576 -> "1 MB", 307200 -> "300 KB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{size / 1024:.0f} KB"


def normalise_filename(raw):
    """A safe display name: Unicode NFKC, no path parts, no control characters."""
    name = unicodedata.normalize("NFKC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    safe = secure_filename(name)
    return safe[:200]


def check_upload(raw_name, data):
    """Validate one upload; raises UploadRejected with a message naming the file."""
    filename = normalise_filename(raw_name)
    shown = filename or "the file"
    if not filename or "." not in filename:
        raise UploadRejected(f"{shown}: the file needs a name with an extension.")
    ext = filename.rsplit(".", 1)[1].lower()
    if ext not in ALLOWED_TYPES:
        allowed = ", ".join(sorted(ALLOWED_TYPES))
        raise UploadRejected(f"{filename}: files of type .{ext} are not accepted (allowed: {allowed}).")
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    if len(data) > limit:
        raise UploadRejected(f"{filename}: larger than the {human_size(limit)} limit.")
    if not data:
        raise UploadRejected(f"{filename}: the file is empty.")
    if ext in MAGIC and not data.startswith(MAGIC[ext]):
        raise UploadRejected(f"{filename}: the content is not a valid .{ext} file.")
    if ext in TEXT_TYPES:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadRejected(f"{filename}: a text file must be UTF-8.") from None
    return CheckedFile(filename=filename, content_type=ALLOWED_TYPES[ext], data=data)


def upload_folder():
    folder = current_app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    return folder


def store(checked: CheckedFile, ticket, message, uploader):
    """Write the file under a random name and return its (unflushed) Attachment row."""
    storage_name = secrets.token_hex(24)
    path = os.path.join(upload_folder(), storage_name)
    # 0600: readable by the app's own user only, whatever the umask (other local accounts and
    # services on the host must not read customers' files).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as fh:
        fh.write(checked.data)
    db.session.info.setdefault(_WRITTEN, []).append(path)
    return Attachment(
        ticket=ticket,
        message=message,
        uploader_id=uploader.id if uploader else None,
        filename=checked.filename,
        storage_name=storage_name,
        content_type=checked.content_type,
        size=len(checked.data),
        sha256=hashlib.sha256(checked.data).hexdigest(),
    )


_WRITTEN = "helpdesk_files_written"


@event.listens_for(Session, "after_commit")
def _keep_written_files(session):
    """Committed: the files now belong to their rows."""
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _remove_orphaned_files(session):
    """Rolled back: no row points at the files written in this transaction, so remove them."""
    for path in session.info.pop(_WRITTEN, []):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def path_of(attachment):
    return os.path.join(upload_folder(), attachment.storage_name)


def stage_files(uploader, staging_key, files):
    """Check and keep uploads that arrived with a form, before the form is accepted.

    Returns (staged attachments for this key, error messages). Good files are kept even when
    another file or field is rejected, so the user never has to pick them again.
    """
    errors = []
    config = current_app.config
    max_files, post_limit = config["UPLOAD_MAX_FILES"], config["UPLOAD_MAX_POST_MB"] * 1024 * 1024
    quota = config["UPLOAD_STAGED_QUOTA_MB"] * 1024 * 1024
    files = [(name, data) for name, data in files if name or data]
    staged_bytes = staged_size(uploader.id) if files else 0
    kept = kept_bytes = 0
    for name, data in files:
        shown = normalise_filename(name) or "the file"
        if kept >= max_files:
            errors.append(f"{shown}: not kept, at most {max_files} files can be sent at once.")
            continue
        if kept_bytes + len(data) > post_limit:
            errors.append(
                f"{shown}: not kept, the files sent at once may total at most {human_size(post_limit)}."
            )
            continue
        if staged_bytes + len(data) > quota:
            errors.append(
                f"{shown}: not kept, your files waiting to be sent would exceed {human_size(quota)}. "
                "Send or remove some first."
            )
            continue
        try:
            checked = check_upload(name, data)
        except UploadRejected as exc:
            errors.append(str(exc))
            continue
        kept, kept_bytes, staged_bytes = kept + 1, kept_bytes + len(data), staged_bytes + len(data)
        item = store(checked, None, None, uploader)
        item.staging_key = staging_key
        db.session.add(item)
    db.session.flush()
    return staged_for(uploader.id, staging_key), errors


def staged_size(uploader_id):
    """Bytes this user has staged and not yet sent, under every key (the quota counts them all)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Attachment.size), 0)).where(
            Attachment.uploader_id == uploader_id, Attachment.ticket_id.is_(None)
        )
    )
    return int(total or 0)


def clean_staged(*, older_than, now=None):
    """Remove staged files (sent with a form that was never accepted) older than `older_than`,
    except those of a draft that is still alive, and files on disk that no row names (left by a
    crash between writing and committing) of the same age. Returns (rows removed, files removed).
    Safe to run from cron on any server sharing the upload folder."""
    from helpdesk.tickets.models import TicketDraft

    now = now or utcnow()
    cutoff = now - older_than
    live_draft = (
        select(TicketDraft.id)
        .where(
            TicketDraft.user_id == Attachment.uploader_id,
            TicketDraft.submission_key == Attachment.staging_key,
            TicketDraft.expires_at > now,
        )
        .exists()
    )
    old = db.session.scalars(
        select(Attachment).where(Attachment.ticket_id.is_(None), Attachment.created_at < cutoff, ~live_draft)
    ).all()
    files = 0
    for item in old:
        try:
            os.remove(path_of(item))
            files += 1
        except FileNotFoundError:
            pass
        db.session.delete(item)
    db.session.flush()
    folder = upload_folder()
    known = set(db.session.scalars(select(Attachment.storage_name)))
    for entry in os.scandir(folder):
        if entry.is_file() and entry.name not in known and entry.stat().st_mtime < cutoff.timestamp():
            os.remove(entry.path)
            files += 1
    return len(old), files


def staged_for(uploader_id, staging_key):
    """The files staged under this key by this uploader and not yet attached, oldest first."""
    return db.session.scalars(
        select(Attachment)
        .where(
            Attachment.uploader_id == uploader_id,
            Attachment.staging_key == staging_key,
            Attachment.ticket_id.is_(None),
        )
        .order_by(Attachment.id)
    ).all()


def discard_all_staged(uploader_id, staging_key):
    """Drop every file staged under this key (an expired draft's), from the disk and the database."""
    for item in staged_for(uploader_id, staging_key):
        try:
            os.remove(path_of(item))
        except FileNotFoundError:
            pass
        db.session.delete(item)
    db.session.flush()


def discard_staged(uploader, staging_key, attachment_ids):
    """Drop staged files the user removed from the form."""
    ids = [i for i in attachment_ids or () if 0 < i <= MAX_ID] or [0]
    for item in list(db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)))):
        if item.uploader_id == uploader.id and item.staging_key == staging_key and item.ticket_id is None:
            try:
                os.remove(path_of(item))
            except FileNotFoundError:
                pass
            db.session.delete(item)
    db.session.flush()


STAGED = select(Attachment).where(  # every submission and reply asks: built once
    Attachment.uploader_id == bindparam("uploader_id"),
    Attachment.staging_key == bindparam("key"),
    Attachment.ticket_id.is_(None),
)


def claim_staged(uploader, staging_key, ticket, message=None):
    """Attach the files staged under this key to the ticket (and message)."""
    items = db.session.scalars(STAGED, {"uploader_id": uploader.id, "key": staging_key}).all()
    for item in items:
        item.ticket = ticket
        item.message = message
        item.staging_key = None
    db.session.flush()
