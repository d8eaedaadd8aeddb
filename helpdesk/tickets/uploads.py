"""Attachments: names normalised, type and size checked, then kept in the attachment store
(`storage.py`: a local folder outside the web root, or an S3 bucket) under random names."""

import hashlib
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from helpdesk.errors import NotFound, StorageError, UploadRejected
from helpdesk.extensions import db
from helpdesk.querying import lock_name
from helpdesk.tickets import storage
from helpdesk.tickets.models import Attachment

log = logging.getLogger(__name__)

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

# Conditions on Attachment naming rows that a domain above keeps without a ticket (the knowledge
# base's images and attachments): never "staged", so never cleaned or counted against a quota.
_keepers = []


def keep_files(condition):
    """Let a higher domain keep upload rows that belong to no ticket: `condition()` returns a SQL
    condition on Attachment that is true for its rows (clean_staged() and the staged quota leave
    them alone). Registered once per condition, whatever the number of apps."""
    if condition not in _keepers:
        _keepers.append(condition)


def not_kept():
    return [~condition() for condition in _keepers]


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


_UNSAFE_CHARACTERS = re.compile(r"[^\w.\- ]")  # \w: letters and digits of every script, and "_"
_WINDOWS_DEVICES = frozenset(
    "con prn aux nul com1 com2 com3 com4 com5 com6 com7 com8 com9 lpt1 lpt2 lpt3 lpt4 lpt5 lpt6 lpt7 lpt8 lpt9".split()
)


def normalise_filename(raw):
    """A safe display name that keeps the customer's words: Unicode NFKC ("résumé 日本.txt" stays
    itself), no path parts, no control or format characters (no right-to-left override), nothing
    but letters, digits, spaces, dots, dashes and underscores (anything else becomes "_"), no
    leading dots or spaces (no hidden file), no Windows device name; the file is stored under a
    random name, so this is only ever shown and offered as the download's name."""
    name = unicodedata.normalize("NFKC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_CHARACTERS.sub("_", name)
    safe = re.sub(r"\s+", " ", name).strip(" .")
    if safe.split(".", 1)[0].lower() in _WINDOWS_DEVICES:
        safe = "_" + safe
    if len(safe) <= MAX_FILENAME:
        return safe
    stem, dot, ext = safe.rpartition(".")
    if not dot or len(ext) > 10:
        return safe[:MAX_FILENAME]
    return stem[: MAX_FILENAME - len(ext) - 1] + "." + ext  # shortened, its extension kept


MAX_FILENAME = 200


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
    """The local upload folder (created if missing); with S3 storage only tests look at it."""
    folder = current_app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    return folder


def store(checked: CheckedFile, ticket, message, uploader):
    """Write the file under a random name and return its (unflushed) Attachment row.

    Guarantees: the file is in the store before the row exists; if the transaction is rolled back
    the file is removed again; StorageError (nothing written) when the store does not answer."""
    storage_name = secrets.token_hex(24)
    files = storage.backend()
    files.put(storage_name, checked.data)
    db.session.info.setdefault(_WRITTEN, []).append((files, storage_name))
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


def open_stored(attachment):
    """The attachment's bytes as a StoredFile; NotFound when the file is missing from the store
    (logged), StorageError when the store does not answer."""
    found = storage.backend().open(attachment.storage_name)
    if found is None:
        log.error("attachment %s: file %s is missing from the store", attachment.id, attachment.storage_name)
        raise NotFound("This file is no longer available.")
    return found


def remove_file_of(attachment):
    """Delete the row's file once the transaction that deletes the row commits (a rollback keeps
    both); a store that fails then leaves an orphan for `flask uploads clean`."""
    db.session.info.setdefault(_DOOMED, []).append((storage.backend(), attachment.storage_name))
    db.session.delete(attachment)


def files_going():
    """Storage names of the files this transaction's deleted rows take with them at commit."""
    return {name for _store, name in db.session.info.get(_DOOMED, ())}


_WRITTEN = "helpdesk_files_written"  # files written in this transaction: removed if it rolls back
_DOOMED = "helpdesk_files_doomed"  # files of rows deleted in this transaction: removed if it commits


@event.listens_for(Session, "after_commit")
def _settle_files(session):
    """Committed: written files now belong to their rows; deleted rows' files go."""
    session.info.pop(_WRITTEN, None)
    _remove(session.info.pop(_DOOMED, []))


@event.listens_for(Session, "after_rollback")
def _remove_orphaned_files(session):
    """Rolled back: no row points at the files written in this transaction, so remove them; the
    rows this transaction deleted are back, so their files stay."""
    session.info.pop(_DOOMED, None)
    _remove(session.info.pop(_WRITTEN, []))


def _remove(files):
    for store_, name in files:
        try:
            store_.delete(name)
        except StorageError:
            pass  # logged by the store; `flask uploads clean` removes it once old enough


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
    if files:
        # Files sent at once from two tabs (or a script) would each read the total before the
        # other's rows exist, and both pass the quota: one user's staging is done one at a time.
        lock_name(f"staged-files:{uploader.id}")
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
        try:
            item = store(checked, None, None, uploader)
        except StorageError:
            errors.append(
                f"{checked.filename}: not kept, the file store is not answering. Try again in a moment."
            )
            continue
        kept, kept_bytes, staged_bytes = kept + 1, kept_bytes + len(data), staged_bytes + len(data)
        item.staging_key = staging_key
        db.session.add(item)
    db.session.flush()
    return staged_for(uploader.id, staging_key), errors


def staged_size(uploader_id):
    """Bytes this user has staged and not yet sent, under every key (the quota counts them all)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Attachment.size), 0)).where(
            Attachment.uploader_id == uploader_id, Attachment.ticket_id.is_(None), *not_kept()
        )
    )
    return int(total or 0)


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


def discard_all_staged(uploader_id, staging_key, staged_before=None):
    """Drop every file staged under this key (an expired draft's), from the store and the database;
    with `staged_before`, only those staged before that moment (UTC)."""
    for item in staged_for(uploader_id, staging_key):
        if staged_before is None or item.created_at < staged_before:
            remove_file_of(item)
    db.session.flush()


def remove_attachment(item):
    """Delete one stored file and its row (a file an editor removed from a knowledge-base article);
    the file goes when the transaction commits."""
    remove_file_of(item)
    db.session.flush()


def discard_staged(uploader, staging_key, attachment_ids):
    """Drop staged files the user removed from the form."""
    ids = [i for i in attachment_ids or () if 0 < i <= MAX_ID] or [0]
    for item in list(db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)))):
        if item.uploader_id == uploader.id and item.staging_key == staging_key and item.ticket_id is None:
            remove_file_of(item)
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
