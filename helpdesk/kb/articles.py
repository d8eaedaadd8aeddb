"""Writing articles: create, edit, publish and archive, restore a revision, make one from a ticket's message.

Every save that changes something keeps a Revision (who, when, the title, tags and text, and the
category, visibility and status as saved), numbered by the article's `version`. An edit carries
the version its form was opened at: if someone else changed the text, title, tags, category or
visibility since, it is refused (StaleUpdate) and nothing is overwritten; a status change made
meanwhile (someone published it) does not count against it. The policy decides who may write:
a category's technicians and admins (policy.can_write_kb_category).
"""

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb import files, slugs
from helpdesk.kb.models import (
    STATUS_PUBLISHED,
    STATUSES,
    VISIBILITIES,
    VISIBILITY_LABELS,
    Article,
    ArticleTag,
    OldSlug,
    Revision,
)
from helpdesk.querying import lock_row
from helpdesk.tickets import lifecycle, uploads
from helpdesk.tickets.models import Category

MAX_TITLE = 200
MAX_BODY = 100_000
MAX_TAGS = 10
MAX_TAG = 40
TAG = re.compile(r"^[^\W_](?:[\w -]*[^\W_])?$")  # letters, digits, spaces and hyphens inside
STATUS_NOTES = {"draft": "Moved back to draft", "published": "Published", "archived": "Archived"}


def parse_tags(raw):
    """Tags from "VPN, remote work , vpn": lower case, spacing folded, duplicates dropped, in the
    order given. Raises ValidationFailed naming a tag that is too long or has other characters."""
    tags = []
    for part in (raw or "").split(","):
        tag = " ".join(part.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise ValidationFailed(f"“{tag[:MAX_TAG]}…”: a tag has at most {MAX_TAG} characters.")
        if not TAG.match(tag):
            raise ValidationFailed(
                f"“{tag}”: tags are words of letters and digits (hyphens and spaces inside)."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(f"Use at most {MAX_TAGS} tags.")
    return tags


def _clean(title, body, visibility):
    title = " ".join((title or "").split())
    body = (body or "").strip()
    if not title:
        raise ValidationFailed("Give the article a title.")
    if len(title) > MAX_TITLE:
        raise ValidationFailed(f"A title has at most {MAX_TITLE} characters.")
    if not body:
        raise ValidationFailed("Write the article's text.")
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"An article has at most {MAX_BODY:,} characters.")
    if visibility not in VISIBILITIES:
        raise ValidationFailed("Choose who may read the article.")
    return title, body


def _category(actor, category_id):
    category = db.session.get(Category, category_id) if category_id else None
    if category is None:
        raise ValidationFailed("Choose a category.")
    if not policy.can_write_kb_category(actor, category.id):
        raise NotAllowed(f"You may not write articles in {category.name}.")
    return category


def set_tags(article, tags):
    """Give the article these tags: removed ones are deleted before new ones are added (a unit of
    work inserts before it deletes, and a tag taken away and given back would clash)."""
    current = {tag.name: tag for tag in article.tags}
    gone = [tag for name, tag in current.items() if name not in tags]
    for tag in gone:
        article.tags.remove(tag)
    if gone and article.id is not None:
        db.session.flush()
    article.tags.extend(ArticleTag(name=name) for name in tags if name not in current)
    article.tag_line = ", ".join(tags)


def record_revision(article, actor, kind, note):
    db.session.add(
        Revision(
            article_id=article.id,
            number=article.version,
            kind=kind,
            title=article.title,
            body=article.body,
            tag_line=article.tag_line,
            note=note[:400],
            author_id=actor.id if actor else None,
        )
    )


def give_slug(article, title):
    """A slug for the new title, in a savepoint: a concurrent request that took it first only
    makes this one try the next free slug. The article's own old slug is taken back."""
    for _attempt in range(5):
        slug = slugs.free_slug(title, article.id)
        try:
            with db.session.begin_nested():
                if article.slug and article.slug != slug:
                    own = db.session.scalar(
                        select(OldSlug).where(OldSlug.slug == slug, OldSlug.article_id == article.id)
                    )
                    if own is not None:
                        db.session.delete(own)
                        db.session.flush()
                    db.session.add(OldSlug(slug=article.slug, article_id=article.id))
                article.slug = slug
                db.session.add(article)
                db.session.flush()
            return
        except IntegrityError:
            continue
    raise ValidationFailed("The article could not get an address: please save again.")


def create_article(
    actor, *, category_id, title, body, visibility, tags="", publish=False, source_message=None, note=""
):
    """A new article (a draft unless `publish`) and its first revision. Guarantees: the actor may
    write in the category; title and text present and within limits; tags valid; a slug no other
    article has or had."""
    category = _category(actor, category_id)
    title, body = _clean(title, body, visibility)
    tag_names = parse_tags(tags)
    now = utcnow()
    article = Article(
        category=category,
        title=title,
        body=body,
        visibility=visibility,
        status=STATUS_PUBLISHED if publish else "draft",
        version=1,
        created_at=now,
        updated_at=now,
        published_at=now if publish else None,
        created_by_id=actor.id,
        updated_by_id=actor.id,
        source_message_id=source_message.id if source_message else None,
    )
    set_tags(article, tag_names)
    give_slug(article, title)
    record_revision(article, actor, "create", note or ("Created and published" if publish else "Created"))
    db.session.flush()
    return article


def lock(article):
    """Lock the article's row until commit and read it afresh (SQLite writers are serialised by
    BEGIN IMMEDIATE); locked by id alone, like tickets (lifecycle.lock_row)."""
    lock_row(article)
    db.session.expire(article, ["tags", "files"])
    return article


def _snapshot(article):
    return (article.title, article.body, article.tag_line, article.category_id, article.visibility)


def _check_version(article, seen_version):
    """StaleUpdate unless the editor's form was opened at the current revision, or only status
    changes (publish, archive) were saved since."""
    if seen_version == article.version:
        return
    if seen_version is not None and 0 < seen_version < article.version:
        later_kinds = set(
            db.session.scalars(
                select(Revision.kind).where(Revision.article_id == article.id, Revision.number > seen_version)
            )
        )
        if later_kinds <= {"status"}:
            return
    latest = db.session.scalar(
        select(Revision).where(Revision.article_id == article.id).order_by(Revision.number.desc()).limit(1)
    )
    who = latest.author.name if latest and latest.author else "someone"
    raise StaleUpdate(
        f"{who} saved this article (revision {article.version}) after you opened it; your changes were "
        "not saved."
    )


def _describe(article, category, visibility, tags_changed, title, body):
    """What an edit changed, for its revision's line: "Title and text edited; Tags changed"."""
    changes = []
    words = [
        what
        for what, changed in (("Title", title != article.title), ("text", body != article.body))
        if changed
    ]
    if words:
        changes.append(" and ".join(words).capitalize() + " edited")
    if category.id != article.category_id:
        changes.append(f"Category {article.category.name} → {category.name}")
    if visibility != article.visibility:
        changes.append(
            f"Visibility {VISIBILITY_LABELS[article.visibility]} → {VISIBILITY_LABELS[visibility]}"
        )
    if tags_changed:
        changes.append("Tags changed")
    return "; ".join(changes)


def update_article(actor, article, *, seen_version, category_id, title, body, visibility, tags=""):
    """Save an edit: True, with a new revision, when anything changed; False when nothing did.
    Guarantees: the actor may edit the article and write in its (new) category; the edit was
    made on the current text (else StaleUpdate, nothing saved); a new title gets a new slug and
    the old one redirects."""
    if not policy.can_edit_article(actor, article):
        raise NotAllowed("You may not edit this article.")
    category = _category(actor, category_id)
    title, body = _clean(title, body, visibility)
    tag_names = parse_tags(tags)
    lock(article)
    _check_version(article, seen_version)
    tag_line = ", ".join(tag_names)
    if (title, body, tag_line, category.id, visibility) == _snapshot(article):
        return False
    note = _describe(article, category, visibility, tag_line != article.tag_line, title, body)
    if title != article.title:
        give_slug(article, title)
    article.title, article.body, article.visibility = title, body, visibility
    article.category = category
    set_tags(article, tag_names)
    bump(article, actor)
    record_revision(article, actor, "edit", note or "Edited")
    db.session.flush()
    return True


def bump(article, actor):
    article.version += 1
    article.updated_at = utcnow()
    article.updated_by_id = actor.id


def set_status(actor, article, status):
    """Publish, archive, or move back to draft; True when the status changed (a revision records
    who and when). Guarantees: only the article's editors; a known status."""
    if not policy.can_edit_article(actor, article):
        raise NotAllowed("You may not change this article.")
    if status not in STATUSES:
        raise ValidationFailed("Choose a status.")
    lock(article)
    if article.status == status:
        return False
    article.status = status
    if status == STATUS_PUBLISHED and article.published_at is None:
        article.published_at = utcnow()
    bump(article, actor)
    record_revision(article, actor, "status", STATUS_NOTES[status])
    db.session.flush()
    return True


def save_article(
    actor,
    article=None,
    *,
    seen_version=None,
    category_id,
    title,
    body,
    visibility,
    tags="",
    files_key=None,
    publish=False,
):
    """Create (without `article`) or edit an article, give it the files staged with its form, and
    publish it when asked, all in one transaction. Returns (article, whether anything changed)."""
    if article is None:
        article = create_article(
            actor,
            category_id=category_id,
            title=title,
            body=body,
            visibility=visibility,
            tags=tags,
            publish=publish,
        )
        changed = True
    else:
        changed = update_article(
            actor,
            article,
            seen_version=seen_version,
            category_id=category_id,
            title=title,
            body=body,
            visibility=visibility,
            tags=tags,
        )
    if files_key and files.attach_staged(actor, article, files_key):
        article.updated_at = utcnow()
        changed = True
    if publish and article.status != STATUS_PUBLISHED:
        changed = set_status(actor, article, STATUS_PUBLISHED) or changed
    return article, changed


def find_by_slug(slug):
    """(article, moved): the article whose slug this is, or was before a rename (moved=True);
    (None, False) when no article ever had it."""
    slug = (slug or "")[: slugs.MAX_SLUG + 10]
    article = db.session.scalar(select(Article).where(Article.slug == slug))
    if article is not None:
        return article, False
    old = db.session.scalar(select(OldSlug).where(OldSlug.slug == slug))
    if old is None:
        return None, False
    return db.session.get(Article, old.article_id), True


def get_article(article_id):
    return db.session.get(Article, article_id)


def writable_categories(actor):
    """Active categories the actor may write articles in, by name (plus `current` when editing)."""
    return [c for c in lifecycle.active_categories() if policy.can_write_kb_category(actor, c.id)]


def delete_draft(actor, article):
    """Delete a draft that was never published, with its revisions, tags and files (the stored
    files go when the transaction commits). Guarantees: policy.can_delete_article; returns its
    title."""
    lock(article)
    if not policy.can_delete_article(actor, article):
        raise NotAllowed("Only a draft that was never published can be deleted: archive this one instead.")
    title = article.title
    for item in list(article.files):
        attachment = item.attachment
        article.files.remove(item)
        db.session.flush()
        uploads.remove_attachment(attachment)
    db.session.delete(article)
    db.session.flush()
    return title
