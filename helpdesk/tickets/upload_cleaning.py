"""`flask uploads clean`: staged files nobody sent and stored files no row names, removed once old."""

from sqlalchemy import select

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import storage
from helpdesk.tickets.models import Attachment, TicketDraft
from helpdesk.tickets.uploads import files_going, not_kept, remove_file_of


def clean_staged(*, older_than, now=None):
    """Remove staged files (sent with a form that was never accepted) older than `older_than`,
    except those of a draft that is still alive, and stored files that no row names (left by a
    crash between writing and committing) of the same age; only names the desk makes are touched.
    Returns (rows removed, files removed); the rows' files go when the caller commits. Safe to run
    from cron on every server at once: every server shares the store (the bucket, or one host's
    folder), and a row is removed by one run only."""
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
    query = select(Attachment).where(
        Attachment.ticket_id.is_(None), Attachment.created_at < cutoff, ~live_draft, *not_kept()
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Each run takes the rows no other run (or form being sent) holds: two runs at once never
        # wait for each other's scan of the store, then delete rows already gone.
        query = query.with_for_update(skip_locked=True)
    old = db.session.scalars(query).all()
    for item in old:
        remove_file_of(item)
    db.session.flush()
    going = files_going()
    files = storage.backend()
    orphans = 0
    batch = []
    for name in files.names_older_than(cutoff):
        if name not in going:
            batch.append(name)
        if len(batch) >= CLEAN_BATCH:
            orphans += _remove_unnamed(files, batch)
            batch = []
    orphans += _remove_unnamed(files, batch)
    return len(old), len(old) + orphans


CLEAN_BATCH = 500


def _remove_unnamed(files, names):
    """Delete those of `names` that no attachment row names; returns how many."""
    if not names:
        return 0
    known = set(db.session.scalars(select(Attachment.storage_name).where(Attachment.storage_name.in_(names))))
    unnamed = [name for name in names if name not in known]
    for name in unnamed:
        files.delete(name)
    return len(unnamed)
