"""Who reads which article, everywhere it can show (issue 15, item 2): every role × every
visibility × every status × every surface. An article the viewer may not read is missing: its
page and files answer 404, and search, suggestions, lists, related articles, the sitemap and the
agents' panel never name it.

Roles: visitors (the desk's KB_PUBLIC on, and off), a customer, a subscriber (follows a ticket),
an organization's manager, the category's technician, another category's technician, an admin.
"""

import pytest

from helpdesk.extensions import db
from tests import kb_support as kb

ROLES = (
    "visitor",
    "visitor_kb_private",
    "customer",
    "subscriber",
    "manager",
    "technician",
    "other_technician",
    "admin",
)
VISIBILITIES = ("public", "customers", "agents")
STATUSES = ("published", "draft", "archived")
READS = {  # the visibilities each role reads once an article is published
    "visitor": {"public"},
    "visitor_kb_private": set(),
    "customer": {"public", "customers"},
    "subscriber": {"public", "customers"},
    "manager": {"public", "customers"},
    "technician": {"public", "customers", "agents"},
    "other_technician": {"public", "customers", "agents"},
    "admin": {"public", "customers", "agents"},
}
EDITS = {"technician", "admin"}  # the category's technicians and admins also preview drafts and archived ones
WORD = {"public": "zephyrine", "customers": "quillometer", "agents": "brontoglyph"}


def may_read(role, visibility, status):
    if role in EDITS:
        return True
    return status == "published" and visibility in READS[role]


@pytest.fixture
def world(desk, make, monkeypatch):
    """Three articles of the IT category, one per visibility, each with a word of its own, an
    image, and a public companion article sharing its tag (for the related list)."""
    org = make.OrganizationFactory()
    desk.manager = make.customer(organization=org, is_org_manager=True)
    desk.other_technician = desk.tech_sales
    desk.technician = desk.tech_it
    items = {}
    for visibility in VISIBILITIES:
        word = WORD[visibility]
        item = kb.write(
            desk.tech_it,
            desk.it,
            f"The {word} guide",
            body=f"How the {word} works.",
            visibility=visibility,
            tags="matrix",
        )
        kb.attach(desk.tech_it, item, key=f"key-{visibility}-0123456789")
        items[visibility] = item
    desk.companion = kb.write(desk.tech_it, desk.it, "Matrix companion", visibility="public", tags="matrix")
    db.session.commit()
    desk.items = items
    return desk


def _as(role, world, client, login, monkeypatch):
    if role == "visitor_kb_private":
        monkeypatch.setitem(client.application.config, "KB_PUBLIC", False)
    if role.startswith("visitor"):
        return client
    user = {"customer": world.customer, "subscriber": world.subscriber, "admin": world.admin}.get(
        role
    ) or getattr(world, role)
    return login(user)


def _set_status(world, status):
    from helpdesk.kb import articles

    for item in world.items.values():
        if status != "published":
            articles.set_status(world.tech_it, item, status)
    db.session.commit()


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("role", ROLES)
def test_every_surface_shows_exactly_what_the_role_may_read(world, client, login, monkeypatch, role, status):
    _set_status(world, status)
    browser = _as(role, world, client, login, monkeypatch)
    for visibility, item in world.items.items():
        allowed = may_read(role, visibility, status)
        listed = allowed and status == "published"  # drafts are previewed at their address, never listed
        word, where = WORD[visibility], (role, visibility, status)
        page = browser.get(kb.url(item))
        assert page.status_code == (200 if allowed else 404), where
        image = browser.get(kb.file_url(item, item.files[0]))
        data, image_status = image.get_data(), image.status_code
        image.close()
        assert image_status == (200 if allowed else 404), where
        assert (data == kb.PNG) is allowed, where
        search = browser.get("/kb/search", query_string={"q": word})
        assert search.status_code == (200 if READS[role] else 302), where
        assert (item.slug in search.get_data(as_text=True)) is listed, where
        suggest = browser.get("/kb/suggest", query_string={"subject": f"my {word} is broken"})
        assert suggest.status_code == 200
        assert (item.slug in suggest.get_data(as_text=True)) is listed, where
        for listing in ("/kb/", "/kb/it/", kb.url(world.companion)):
            response = browser.get(listing)
            assert (item.slug in response.get_data(as_text=True)) is listed, (where, listing)
        sitemap = browser.get("/kb/sitemap.xml")
        public_listed = visibility == "public" and status == "published" and role != "visitor_kb_private"
        assert (item.slug in sitemap.get_data(as_text=True)) is public_listed, where
        vote = browser.post(kb.url(item) + "/feedback", data={"helpful": "yes"})
        assert (vote.status_code == 404) is not listed, where
        panel = browser.get(f"/agent/kb/tickets/{world.it_ticket.id}/panel", query_string={"q": word})
        if role in ("technician", "admin"):
            assert (item.slug in panel.get_data(as_text=True)) is listed, where
        elif role.startswith("visitor"):
            assert panel.status_code == 302, where  # to the login page
        else:
            assert panel.status_code == 404, where  # customers, and a technician who cannot see the ticket
    assert world.companion.slug  # the companion stays public: the related list above was looked at


@pytest.mark.parametrize("role", ROLES)
def test_an_article_that_never_existed_answers_404_for_everyone(world, client, login, monkeypatch, role):
    browser = _as(role, world, client, login, monkeypatch)
    assert browser.get("/kb/it/no-such-article").status_code == 404
    assert browser.get("/kb/it/no-such-article/files/1/x.png").status_code == 404
    assert browser.post("/kb/it/no-such-article/feedback", data={"helpful": "no"}).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_only_the_categorys_technicians_and_admins_edit(world, client, login, monkeypatch, role):
    browser = _as(role, world, client, login, monkeypatch)
    item = world.items["public"]
    edit = browser.get(f"/agent/kb/{item.id}")
    revisions = browser.get(f"/agent/kb/{item.id}/revisions")
    feedback = browser.get(f"/agent/kb/{item.id}/feedback")
    status = browser.post(f"/agent/kb/{item.id}/status", data={"status": "archived"})
    if role in EDITS:
        assert (edit.status_code, revisions.status_code, feedback.status_code) == (200, 200, 200)
        assert status.status_code == 302
        assert kb.fresh(item.id).status == "archived"
    elif role.startswith("visitor"):
        assert {edit.status_code, revisions.status_code, feedback.status_code, status.status_code} == {302}
    else:
        assert {edit.status_code, revisions.status_code, feedback.status_code, status.status_code} == {404}
    if role not in EDITS:
        assert kb.fresh(item.id).status == "published"
