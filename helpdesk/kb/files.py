"""An article's images and attachments, through the tickets domain's upload checks and storage.

Files sent with an article's form are staged under the form's key (tickets/uploads.py: type,
content and size checked, stored under a random name), so a form refused for another reason
keeps them; saving the article takes them over. They are upload rows without a ticket, which
uploads.keep_files() (registered in kb.init_app) tells the staging sweep and quota to leave alone.
"""

from sqlalchemy import select

from helpdesk import policy
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb.models import ArticleFile
from helpdesk.tickets import uploads
from helpdesk.tickets.models import Attachment

MAX_FILES = 30  # per article


def kept_by_articles():
    """SQL condition on Attachment: the row is an article's file (for uploads.keep_files)."""
    return Attachment.id.in_(select(ArticleFile.attachment_id))


def stage(uploader, key, files, removed=()):
    """Check and keep the files sent with an article's form under `key`, dropping those the user
    removed; returns (files staged under the key, error messages naming refused files)."""
    if removed:
        uploads.discard_staged(uploader, key, removed)
    return uploads.stage_files(uploader, key, files)


def staged(uploader, key):
    return uploads.staged_for(uploader.id, key) if key else []


def attach_staged(actor, article, key):
    """Give the article the files `actor` staged under `key`. Guarantees: at most MAX_FILES per
    article (the rest stay staged, named in the error)."""
    waiting = staged(actor, key)
    room = MAX_FILES - len(article.files)
    if len(waiting) > room:
        names = ", ".join(item.filename for item in waiting[room:])
        raise ValidationFailed(f"An article has at most {MAX_FILES} files: {names} not added.")
    for item in waiting:
        item.staging_key = None
        db.session.add(ArticleFile(article=article, attachment=item))
    db.session.flush()
    return len(waiting)


def get_file(article, file_id):
    """The article's file with this id, or None."""
    return db.session.scalar(
        select(ArticleFile).where(ArticleFile.id == file_id, ArticleFile.article_id == article.id)
    )


def remove_file(actor, article, file_id):
    """Delete one of the article's files (its row and the stored file). Guarantees: only the
    article's editors; the file is the article's."""
    if not policy.can_edit_article(actor, article):
        raise NotAllowed("You may not change this article.")
    item = get_file(article, file_id)
    if item is None:
        raise ValidationFailed("That file is not attached to this article any more.")
    attachment = item.attachment
    article.files.remove(item)  # delete-orphan: the row goes with it
    db.session.flush()
    uploads.remove_attachment(attachment)
    return attachment.filename
