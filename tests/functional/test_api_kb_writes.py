"""Knowledge-base articles edited, published and archived through the API: the editor's own
services (a revision per save, the old address redirecting after a rename), If-Match like
tickets, and the editor page's 404 for whoever may not edit the article."""

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.kb.models import Revision

from ..kb_support import fresh, url, write
from .api_support import bearer, is_problem


def _revisions(article_id):
    db.session.expire_all()
    return db.session.scalars(
        select(Revision).where(Revision.article_id == article_id).order_by(Revision.number)
    ).all()


def _read(client, headers, article_id):
    answer = client.get(f"/api/v1/kb/articles/{article_id}", headers=headers)
    assert answer.status_code == 200
    return answer


def test_an_edit_is_one_revision_and_the_old_address_redirects(client, desk):
    article = write(desk.tech_it, desk.it, "VPN set-up", tags="vpn")
    db.session.commit()
    old_address = url(article)
    headers = bearer(desk.tech_it)
    read = _read(client, headers, article.id)
    assert read.headers["ETag"] == f'"{article.version}"' and read.get_json()["version"] == article.version
    change = {
        "title": "VPN on laptops",
        "tags": ["vpn", "laptops"],
        "category_id": desk.ref.categories["Billing"].id,
    }
    answer = client.patch(
        f"/api/v1/kb/articles/{article.id}", json=change, headers=headers | {"If-Match": read.headers["ETag"]}
    )
    body = answer.get_json()
    assert (
        answer.status_code == 200 and body["title"] == "VPN on laptops" and body["slug"] == "vpn-on-laptops"
    )
    assert body["tags"] == ["laptops", "vpn"] and body["category"]["name"] == "Billing"
    assert body["body"] == "All about VPN set-up." and body["visibility"] == "public"  # unsent: kept
    assert (
        answer.headers["ETag"] == f'"{body["version"]}"' and body["version"] == read.get_json()["version"] + 1
    )
    last = _revisions(article.id)[-1]
    assert (last.number, last.kind, last.title, last.tag_line, last.author_id) == (
        body["version"],
        "edit",
        "VPN on laptops",
        "vpn, laptops",
        desk.tech_it.id,
    )
    assert last.note == "Title edited; Category IT → Billing; Tags changed"  # what the editor's Save writes
    moved = client.get(old_address)
    assert moved.status_code in (301, 308) and moved.headers["Location"].endswith("/vpn-on-laptops")


def test_an_edit_that_changes_nothing_keeps_the_version(client, desk):
    article = write(desk.tech_it, desk.it, "Printer jams")
    db.session.commit()
    headers = bearer(desk.admin) | {"If-Match": f'"{article.version}"'}
    answer = client.patch(
        f"/api/v1/kb/articles/{article.id}", json={"title": "Printer jams"}, headers=headers
    )
    assert answer.status_code == 200 and answer.get_json()["version"] == article.version
    assert len(_revisions(article.id)) == 1


def test_a_stale_if_match_saves_nothing_and_a_missing_one_is_required(client, desk):
    article = write(desk.tech_it, desk.it, "Mail rules")
    db.session.commit()
    seen = f'"{article.version}"'
    headers = bearer(desk.tech_it)
    first = client.patch(
        f"/api/v1/kb/articles/{article.id}", json={"body": "Mine."}, headers=headers | {"If-Match": seen}
    )
    assert first.status_code == 200
    stale = client.patch(
        f"/api/v1/kb/articles/{article.id}", json={"body": "Theirs."}, headers=headers | {"If-Match": seen}
    )
    assert is_problem(stale, 412) and "after you opened it" in stale.get_json()["detail"]
    assert fresh(article.id).body == "Mine." and len(_revisions(article.id)) == 2
    missing = client.patch(f"/api/v1/kb/articles/{article.id}", json={"body": "Theirs."}, headers=headers)
    assert is_problem(missing, 428) and "article" in missing.get_json()["detail"]
    assert fresh(article.id).body == "Mine."


def test_a_status_change_made_meanwhile_does_not_make_an_edit_stale(client, desk):
    article = write(desk.tech_it, desk.it, "Wi-Fi", status="draft")
    db.session.commit()
    seen = f'"{article.version}"'
    headers = bearer(desk.tech_it)
    published = client.put(
        f"/api/v1/kb/articles/{article.id}/status", json={"status": "published"}, headers=headers
    )
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    edited = client.patch(
        f"/api/v1/kb/articles/{article.id}",
        json={"body": "Use the guest network."},
        headers=headers | {"If-Match": seen},
    )
    assert edited.status_code == 200 and edited.get_json()["body"] == "Use the guest network."


def test_publish_and_archive_are_revisions_and_change_who_reads_it(client, desk):
    article = write(desk.tech_it, desk.it, "Shared drives", status="draft")
    db.session.commit()
    editor, customer = bearer(desk.tech_it), bearer(desk.requester)
    address = f"/api/v1/kb/articles/{article.id}"
    assert is_problem(client.get(address, headers=customer), 404)
    published = client.put(f"{address}/status", json={"status": "published"}, headers=editor)
    assert (
        published.status_code == 200 and published.headers["ETag"] == f'"{published.get_json()["version"]}"'
    )
    assert client.get(address, headers=customer).status_code == 200
    again = client.put(f"{address}/status", json={"status": "published"}, headers=editor)
    assert again.get_json()["version"] == published.get_json()["version"]  # already published: no revision
    archived = client.put(f"{address}/status", json={"status": "archived"}, headers=editor)
    assert archived.get_json()["status"] == "archived" and is_problem(
        client.get(address, headers=customer), 404
    )
    notes = [(r.kind, r.note) for r in _revisions(article.id)]
    assert notes == [("create", "Created"), ("status", "Published"), ("status", "Archived")]


def test_refused_values_answer_with_field_errors(client, desk):
    article = write(desk.tech_it, desk.it, "Phones")
    db.session.commit()
    headers = bearer(desk.tech_it) | {"If-Match": f'"{article.version}"'}
    address = f"/api/v1/kb/articles/{article.id}"
    shaped = client.patch(
        address, json={"title": "", "visibility": "everyone", "colour": "red"}, headers=headers
    )
    assert is_problem(shaped, 422)
    assert {e["field"] for e in shaped.get_json()["errors"]} == {"title", "visibility", "colour"}
    nulled = client.patch(address, json={"body": None}, headers=headers)
    assert is_problem(nulled, 422) and nulled.get_json()["errors"][0]["field"] == "body"
    ruled = client.patch(address, json={"tags": ["no_underscores!"]}, headers=headers)
    assert is_problem(ruled, 422) and "tags are words" in ruled.get_json()["errors"][0]["message"]
    status = client.put(f"{address}/status", json={"status": "deleted"}, headers=headers)
    assert is_problem(status, 422) and status.get_json()["errors"][0]["field"] == "status"
    assert fresh(article.id).title == "Phones" and len(_revisions(article.id)) == 1


@pytest.mark.parametrize("role", ["tech_sales", "requester", "customer"])
def test_whoever_may_not_edit_an_article_gets_404_like_the_editor_page(client, desk, login, role):
    public = write(desk.tech_it, desk.it, "Reset your password")  # every one of them may read it
    draft = write(desk.tech_it, desk.it, "Unfinished", status="draft")  # none of them may read it
    db.session.commit()
    headers = bearer(getattr(desk, role)) | {"If-Match": "*"}
    for article in (public, draft):
        address = f"/api/v1/kb/articles/{article.id}"
        assert is_problem(client.patch(address, json={"title": "Mine now"}, headers=headers), 404)
        assert is_problem(client.put(f"{address}/status", json={"status": "archived"}, headers=headers), 404)
    assert client.get(f"/api/v1/kb/articles/{public.id}", headers=headers).status_code == 200
    login(getattr(desk, role))
    assert client.get(f"/agent/kb/{public.id}").status_code == 404  # the page answers the same
    assert fresh(public.id).title == "Reset your password" and fresh(draft.id).status == "draft"


def test_a_technician_may_not_move_an_article_to_a_category_they_do_not_write(client, desk):
    article = write(desk.tech_it, desk.it, "Invoices")
    db.session.commit()
    headers = bearer(desk.tech_it) | {"If-Match": "*"}
    moved = client.patch(
        f"/api/v1/kb/articles/{article.id}", json={"category_id": desk.sales.id}, headers=headers
    )
    assert is_problem(moved, 403) and fresh(article.id).category_id == desk.it.id


def test_writing_needs_the_kb_write_scope(client, desk):
    article = write(desk.tech_it, desk.it, "Scanner")
    db.session.commit()
    headers = bearer(desk.tech_it, scopes=["kb:read", "tickets:write"]) | {"If-Match": "*"}
    address = f"/api/v1/kb/articles/{article.id}"
    refused = client.patch(address, json={"title": "Scanner 2"}, headers=headers)
    assert is_problem(refused, 403) and "kb:write" in refused.get_json()["detail"]
    assert is_problem(client.put(f"{address}/status", json={"status": "archived"}, headers=headers), 403)
    assert fresh(article.id).title == "Scanner" and fresh(article.id).status == "published"


def test_the_writes_are_in_the_openapi_document_with_their_schemas(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths, schemas = document["paths"], document["components"]["schemas"]
    expected = {
        ("/api/v1/kb/articles/{article_id}", "patch"): ("ArticleChange", "Article", "kb:write"),
        ("/api/v1/kb/articles/{article_id}/status", "put"): ("ArticleStatus", "Article", "kb:write"),
        ("/api/v1/users", "post"): ("UserCreate", "UserCreated", "people:write"),
        ("/api/v1/users/{user_id}", "patch"): ("UserChange", "UserOut", "people:write"),
        ("/api/v1/users/{user_id}/permissions", "put"): ("PermissionsChange", "Permissions", "people:write"),
        ("/api/v1/organizations", "post"): ("OrganizationIn", "OrganizationCreated", "people:write"),
        ("/api/v1/organizations/{organization_id}", "patch"): ("OrganizationIn", "Named", "people:write"),
    }
    for (path, method), (body, answer, scope) in expected.items():
        operation = paths[path][method]
        sent = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        assert sent.endswith(f"/{body}") and body in schemas and operation["x-scope"] == scope
        assert success["content"]["application/json"]["schema"]["$ref"].endswith(f"/{answer}")
    if_match = [
        p for p in paths["/api/v1/kb/articles/{article_id}"]["patch"]["parameters"] if p["in"] == "header"
    ]
    assert if_match[0]["name"] == "If-Match" and if_match[0]["required"]
    assert {"412", "428"} <= set(paths["/api/v1/kb/articles/{article_id}"]["patch"]["responses"])
    assert "ETag" in paths["/api/v1/kb/articles/{article_id}"]["get"]["responses"]["200"]["headers"]
