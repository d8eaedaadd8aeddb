"""An article's revisions through the API, for its editors only (the revisions pages answer
everyone else 404): listed newest first a page at a time, read one by one, and restored through
the Restore button's service, which keeps a revision of its own; If-Match as for an edit."""

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.kb import articles
from helpdesk.kb.models import Revision

from ..kb_support import fresh, write
from .api_support import bearer, is_problem


def _edit(author, article, **changes):
    fields = dict(
        category_id=article.category_id,
        title=article.title,
        body=article.body,
        visibility=article.visibility,
        tags=article.tag_line,
    )
    articles.update_article(author, article, seen_version=article.version, **(fields | changes))


def _history(client, desk):
    """An article with revisions 1 (created and published), 2 (edited), 3 (edited)."""
    article = write(desk.tech_it, desk.it, "VPN set-up", body="Version one.", tags="vpn")
    _edit(desk.tech_it, article, title="VPN on laptops", body="Version two.", tags="vpn, laptops")
    _edit(desk.tech_it, article, body="Version three.")
    db.session.commit()
    return article


def _notes(article_id):
    db.session.expire_all()
    return db.session.execute(
        select(Revision.number, Revision.kind, Revision.note)
        .where(Revision.article_id == article_id)
        .order_by(Revision.number)
    ).all()


def test_revisions_are_listed_newest_first_a_page_at_a_time(client, desk):
    article = _history(client, desk)
    headers = bearer(desk.tech_it)
    first = client.get(f"/api/v1/kb/articles/{article.id}/revisions?limit=2", headers=headers).get_json()
    assert [(r["number"], r["kind"]) for r in first["items"]] == [(3, "edit"), (2, "edit")]
    assert first["items"][0]["author"]["name"] == desk.tech_it.name and first["next"]
    second = client.get(first["next"], headers=headers).get_json()
    assert [(r["number"], r["kind"], r["title"]) for r in second["items"]] == [(1, "create", "VPN set-up")]
    assert second["next"] is None
    one = client.get(second["items"][0]["url"], headers=headers)
    assert one.status_code == 200
    assert (one.get_json()["body"], one.get_json()["tags"]) == ("Version one.", ["vpn"])
    assert is_problem(client.get(f"/api/v1/kb/articles/{article.id}/revisions/9", headers=headers), 404)


def test_restoring_a_revision_is_a_revision_of_its_own_like_the_restore_button(client, desk, login):
    article = _history(client, desk)
    headers = bearer(desk.tech_it) | {"If-Match": f'"{article.version}"'}
    address = f"/api/v1/kb/articles/{article.id}/revisions/1/restore"
    restored = client.post(address, headers=headers)
    body = restored.get_json()
    assert restored.status_code == 200 and body["restored"] is True
    assert (body["article"]["title"], body["article"]["body"], body["article"]["tags"]) == (
        "VPN set-up",
        "Version one.",
        ["vpn"],
    )
    assert body["article"]["version"] == 4 and restored.headers["ETag"] == '"4"'
    assert _notes(article.id)[-1] == (4, "restore", "Restored revision 1")
    again = client.post(address, headers=bearer(desk.tech_it) | {"If-Match": '"4"'})
    assert again.status_code == 200 and again.get_json()["restored"] is False
    assert again.get_json()["article"]["version"] == 4 and len(_notes(article.id)) == 4
    login(desk.tech_it)
    page = client.get(f"/agent/kb/{article.id}/revisions").get_data(as_text=True)
    assert "Restored revision 1" in page  # the editor's history shows it


def test_a_stale_if_match_restores_nothing_and_a_missing_one_is_required(client, desk):
    article = _history(client, desk)
    address = f"/api/v1/kb/articles/{article.id}/revisions/1/restore"
    stale = client.post(address, headers=bearer(desk.tech_it) | {"If-Match": '"2"'})
    assert is_problem(stale, 412) and "after you opened it" in stale.get_json()["detail"]
    missing = client.post(address, headers=bearer(desk.tech_it))
    assert is_problem(missing, 428)
    assert fresh(article.id).body == "Version three." and len(_notes(article.id)) == 3
    articles.set_status(desk.tech_it, fresh(article.id), "archived")  # a status change only
    db.session.commit()
    after_status = client.post(address, headers=bearer(desk.tech_it) | {"If-Match": '"3"'})
    assert after_status.status_code == 200 and fresh(article.id).body == "Version one."
    assert is_problem(
        client.post(
            f"/api/v1/kb/articles/{article.id}/revisions/99/restore",
            headers=bearer(desk.tech_it) | {"If-Match": "*"},
        ),
        404,
    )


@pytest.mark.parametrize("role", ["tech_sales", "requester"])
def test_whoever_may_not_edit_gets_404_like_the_revisions_page(client, desk, login, role):
    article = _history(client, desk)  # public: every one of them may read it
    headers = bearer(getattr(desk, role)) | {"If-Match": "*"}
    base = f"/api/v1/kb/articles/{article.id}"
    assert client.get(base, headers=headers).status_code == 200
    assert is_problem(client.get(f"{base}/revisions", headers=headers), 404)
    assert is_problem(client.get(f"{base}/revisions/1", headers=headers), 404)
    assert is_problem(client.post(f"{base}/revisions/1/restore", headers=headers), 404)
    assert fresh(article.id).body == "Version three."
    login(getattr(desk, role))
    assert client.get(f"/agent/kb/{article.id}/revisions").status_code == 404  # the page answers the same


def test_revisions_need_their_scopes(client, desk):
    article = _history(client, desk)
    base = f"/api/v1/kb/articles/{article.id}"
    reading = bearer(desk.tech_it, scopes=["kb:read"]) | {"If-Match": "*"}
    assert client.get(f"{base}/revisions", headers=reading).status_code == 200
    refused = client.post(f"{base}/revisions/1/restore", headers=reading)
    assert is_problem(refused, 403) and "kb:write" in refused.get_json()["detail"]
    tickets_only = bearer(desk.tech_it, scopes=["tickets:write"])
    assert is_problem(client.get(f"{base}/revisions", headers=tickets_only), 403)
    assert fresh(article.id).body == "Version three."


def test_refused_paging_values_answer_with_field_errors(client, desk):
    article = _history(client, desk)
    answer = client.get(
        f"/api/v1/kb/articles/{article.id}/revisions?limit=0&after=-1", headers=bearer(desk.tech_it)
    )
    assert is_problem(answer, 422)
    assert {e["field"] for e in answer.get_json()["errors"]} == {"query.limit", "query.after"}
