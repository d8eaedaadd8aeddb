"""An article's revisions: listed, read, and restored (a restore is a new revision)."""

from sqlalchemy import select

from helpdesk import policy
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb.articles import _check_version, bump, give_slug, lock, parse_tags, record_revision, set_tags
from helpdesk.kb.models import Revision


def revision(article, number):
    return db.session.scalar(
        select(Revision).where(Revision.article_id == article.id, Revision.number == number)
    )


def revisions_query(article):
    """A SELECT of the article's revisions, newest first (paginated by the page)."""
    return select(Revision).where(Revision.article_id == article.id).order_by(Revision.number.desc())


def restore_revision(actor, article, number, seen_version=None):
    """Bring back revision `number`'s title, tags and text as a new revision (category, visibility
    and status stay as they are). Returns the new revision's number, or None if nothing changed.
    With `seen_version` (the API's If-Match) it is the editor's staleness rule: StaleUpdate when
    the text was saved since that version (status changes alone do not count)."""
    if not policy.can_edit_article(actor, article):
        raise NotAllowed("You may not edit this article.")
    lock(article)
    if seen_version is not None:
        _check_version(article, seen_version)
    old = revision(article, number)
    if old is None:
        raise ValidationFailed("That revision does not exist.")
    if (old.title, old.body, old.tag_line) == (article.title, article.body, article.tag_line):
        return None
    if old.title != article.title:
        give_slug(article, old.title)
    article.title, article.body = old.title, old.body
    set_tags(article, parse_tags(old.tag_line))
    bump(article, actor)
    record_revision(article, actor, "restore", f"Restored revision {number}")
    db.session.flush()
    return article.version
