"""Writing articles (kb/articles.py): slugs and their redirects, a revision per save, stale edits
refused, restore, tags, articles from messages, files kept by the upload sweep."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb import articles, files, from_tickets, revisions, slugs
from helpdesk.kb.models import OldSlug, Revision
from helpdesk.tickets import upload_cleaning, uploads
from helpdesk.tickets.models import Attachment
from tests import kb_support as kb


@pytest.fixture
def author(make, ref):
    return make.technician(ref.categories["IT"])


def edit(author, item, **changes):
    values = dict(
        seen_version=item.version,
        category_id=item.category_id,
        title=item.title,
        body=item.body,
        visibility=item.visibility,
        tags=", ".join(item.tag_names),
    )
    values.update(changes)
    return articles.update_article(author, item, **values)


def numbers(item):
    return db.session.scalars(
        select(Revision.number).where(Revision.article_id == item.id).order_by(Revision.number)
    ).all()


def test_slugify():
    assert slugs.slugify("VPN drops: what to do (2.0)") == "vpn-drops-what-to-do-2-0"
    assert slugs.slugify("Café à l'école") == "cafe-a-l-ecole"
    assert slugs.slugify("???") == "article"
    assert len(slugs.slugify("word " * 40)) <= slugs.MAX_SLUG


def test_titles_alike_get_distinct_slugs(author, ref):
    first = kb.write(author, ref.categories["IT"], "Printer offline")
    second = kb.write(author, ref.categories["IT"], "Printer: offline!")
    assert (first.slug, second.slug) == ("printer-offline", "printer-offline-2")


def test_renaming_keeps_the_old_slug_and_never_gives_it_to_another(author, ref):
    item = kb.write(author, ref.categories["IT"], "Printer offline")
    edit(author, item, title="Printer shows as offline")
    assert item.slug == "printer-shows-as-offline"
    assert articles.find_by_slug("printer-offline") == (item, True)
    other = kb.write(author, ref.categories["IT"], "Printer offline")
    assert other.slug == "printer-offline-2"
    edit(author, item, title="Printer offline")  # back to its own old slug
    assert item.slug == "printer-offline"
    assert set(db.session.scalars(select(OldSlug.slug).where(OldSlug.article_id == item.id))) == {
        "printer-shows-as-offline"
    }


def test_every_save_is_a_revision_and_nothing_changed_is_none(author, ref):
    item = kb.write(author, ref.categories["IT"], "Printer offline", status="draft")
    assert edit(author, item, body="New text.") is True
    assert edit(author, item) is False
    articles.set_status(author, item, "published")
    assert numbers(item) == [1, 2, 3] and item.version == 3
    last = revisions.revision(item, 3)
    assert (last.kind, last.note, last.author_id) == ("status", "Published", author.id)
    assert item.published_at is not None


def test_an_edit_over_newer_text_is_refused_but_a_status_change_is_not(author, make, ref):
    item = kb.write(author, ref.categories["IT"], "Printer offline")
    opened_at = item.version
    articles.set_status(author, item, "archived")  # someone archived it meanwhile
    assert edit(author, item, seen_version=opened_at, body="Mine.") is True
    colleague = make.admin(name="Cleo")
    opened_at = item.version
    edit(colleague, item, body="Cleo's text.")
    with pytest.raises(StaleUpdate, match="Cleo saved this article"):
        edit(author, item, seen_version=opened_at, body="Mine again.")
    assert item.body == "Cleo's text."


def test_restore_brings_back_title_tags_and_text_as_a_new_revision(author, ref):
    item = kb.write(
        author, ref.categories["IT"], "Printer offline", body="First.", tags="printer, remote work"
    )
    edit(author, item, title="Printer trouble", body="Second.", tags="hardware")
    number = revisions.restore_revision(author, item, 1)
    assert number == 3
    assert (item.title, item.body, item.tag_names) == (
        "Printer offline",
        "First.",
        ["printer", "remote work"],
    )
    assert item.slug == "printer-offline"
    assert revisions.revision(item, 3).note == "Restored revision 1"
    assert revisions.restore_revision(author, item, 3) is None  # already the text
    with pytest.raises(ValidationFailed):
        revisions.restore_revision(author, item, 99)


@pytest.mark.parametrize(
    "raw, expected",
    [("VPN, remote  Work ,vpn", ["vpn", "remote work"]), ("", []), (" , ,", []), ("wi-fi", ["wi-fi"])],
)
def test_tags_are_folded(raw, expected):
    assert articles.parse_tags(raw) == expected


@pytest.mark.parametrize("raw", ["<b>", "x" * 41, ",".join(f"t{n}" for n in range(11)), "-dash"])
def test_bad_tags_are_refused_with_a_reason(raw):
    with pytest.raises(ValidationFailed):
        articles.parse_tags(raw)


@pytest.mark.parametrize(
    "title, body, visibility",
    [
        ("", "text", "public"),
        ("t" * 201, "text", "public"),
        ("Title", "  ", "public"),
        ("Title", "x", "everyone"),
    ],
)
def test_bad_articles_are_refused(author, ref, title, body, visibility):
    with pytest.raises(ValidationFailed):
        articles.create_article(
            author, category_id=ref.categories["IT"].id, title=title, body=body, visibility=visibility
        )


def test_only_the_categorys_technicians_and_admins_write(author, make, ref):
    sales = make.technician(ref.categories["Sales"])
    with pytest.raises(NotAllowed):
        kb.write(sales, ref.categories["IT"], "Not mine")
    with pytest.raises(NotAllowed):
        kb.write(make.customer(), ref.categories["IT"], "Not mine")
    item = kb.write(author, ref.categories["IT"], "Mine")
    with pytest.raises(NotAllowed):
        edit(sales, item, body="Taken over")
    with pytest.raises(NotAllowed):  # nor move it to a category they do not work
        edit(author, item, category_id=ref.categories["Sales"].id)
    with pytest.raises(NotAllowed):
        articles.set_status(sales, item, "archived")


def test_a_message_becomes_a_draft_once(author, make, ref):
    ticket = make.ticket(subject="VPN drops at home", category=ref.categories["IT"])
    reply = make.message(ticket, author, body="Update the client to 5.3.")
    note = make.message(ticket, author, body="Their router is old.", internal=True)
    draft = from_tickets.article_from_message(author, reply)
    assert (draft.title, draft.body, draft.status, draft.visibility) == (
        "VPN drops at home",
        "Update the client to 5.3.",
        "draft",
        "customers",
    )
    assert from_tickets.article_from_message(author, reply) is draft
    assert from_tickets.article_from_message(author, note).visibility == "agents"
    with pytest.raises(NotAllowed):
        from_tickets.article_from_message(make.technician(ref.categories["Sales"]), reply)
    with pytest.raises(NotAllowed):
        from_tickets.article_from_message(ticket.requester, reply)


def test_article_files_are_kept_by_the_staged_sweep_and_the_quota(author, ref, app):
    item = kb.write(author, ref.categories["IT"], "With a picture")
    entry = kb.attach(author, item)
    later = utcnow() + timedelta(days=3)
    upload_cleaning.clean_staged(older_than=timedelta(hours=1), now=later)
    assert db.session.get(Attachment, entry.attachment_id) is not None
    assert uploads.staged_size(author.id) == 0
    stream = uploads.open_stored(entry.attachment).stream
    try:
        assert stream.read() == kb.PNG
    finally:
        stream.close()
    name = files.remove_file(author, item, entry.id)
    assert name == "diagram.png" and item.files == []


def test_an_article_takes_at_most_so_many_files(author, ref, monkeypatch):
    monkeypatch.setattr(files, "MAX_FILES", 1)
    item = kb.write(author, ref.categories["IT"], "Pictures")
    kb.attach(author, item)
    files.stage(author, "another-key-123456", [("second.png", kb.PNG)])
    with pytest.raises(ValidationFailed, match="second.png not added"):
        files.attach_staged(author, item, "another-key-123456")
