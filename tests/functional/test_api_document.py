"""The OpenAPI 3.1 document: valid, generated from the views (every API route is in it), public,
with a reference page rendered on the server; answers match the document's schemas."""

import re

import jsonschema
from openapi_spec_validator import validate

from helpdesk.api.blueprints import PREFIX
from helpdesk.api.tokens import SCOPES

from .api_support import bearer, is_problem


def test_the_document_is_valid_openapi_3_1(client):
    answer = client.get("/api/v1/openapi.json")  # no token needed to read the description
    document = answer.get_json()
    assert answer.status_code == 200 and document["openapi"] == "3.1.0"
    validate(document)


def test_every_api_route_is_described(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    described = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint not in (
            "api.openapi_document",
            "api.reference",
        ):
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed and routed == described
    assert all(path.startswith(PREFIX) for path, _ in routed)


def test_the_reference_page_lists_every_operation(client):
    page = client.get("/api/v1/reference")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "PATCH /api/v1/tickets/{ticket_id}" in text and "tickets:write" in text
    assert '<script src="http' not in text  # nothing from a CDN


def _schema(document, path, method, status, media="application/json"):
    answer = document["paths"][path][method]["responses"][str(status)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer["content"][media]["schema"]
    return (
        {**schema, "components": document["components"]}
        if "$ref" not in schema
        else {
            "$ref": schema["$ref"],
            "components": document["components"],
        }
    )


def _check(document, path, method, response):
    media = response.mimetype
    schema = _schema(document, path, method, response.status_code, media)
    jsonschema.validate(response.get_json(force=True), schema, cls=jsonschema.Draft202012Validator)


def test_answers_match_the_document(client, desk, make):
    document = client.get("/api/v1/openapi.json").get_json()
    make.message(desk.it_ticket, desk.requester, "Hello")
    headers = bearer(desk.admin)
    ticket = f"/api/v1/tickets/{desk.it_ticket.id}"
    _check(document, "/api/v1/tickets", "get", client.get("/api/v1/tickets", headers=headers))
    _check(document, "/api/v1/tickets/{ticket_id}", "get", client.get(ticket, headers=headers))
    _check(
        document,
        "/api/v1/tickets/{ticket_id}/messages",
        "get",
        client.get(ticket + "/messages", headers=headers),
    )
    _check(
        document, "/api/v1/tickets/{ticket_id}", "get", client.get("/api/v1/tickets/999999", headers=headers)
    )
    _check(document, "/api/v1/users", "get", client.get("/api/v1/users", headers=headers))
    _check(document, "/api/v1/kb/articles", "get", client.get("/api/v1/kb/articles", headers=headers))
    created = client.post(
        "/api/v1/tickets",
        json={
            "subject": "Doc check",
            "body": "Body",
            "category_id": desk.it.id,
            "priority_id": desk.ref.priorities["Normal"].id,
        },
        headers=bearer(desk.requester),
    )
    _check(document, "/api/v1/tickets", "post", created)
    refused = client.post("/api/v1/tickets", json={}, headers=bearer(desk.requester))
    _check(document, "/api/v1/tickets", "post", refused)


# The components before helpdesk/api/schemas.py became a package (one module per domain), and
# those added since: a model lost, renamed or left out of the re-exports changes this set.
COMPONENTS = {
    "Adjustment", "Article", "ArticleChange", "ArticleCreate", "ArticleCreated", "ArticleList",
    "ArticleStatus", "ArticleSummary", "AttachmentOut", "Bank", "Entry", "EntryCreated", "EntryList",
    "MessageCreate", "MessageCreated", "MessageList", "MessageOut", "Named", "OrganizationCreated",
    "OrganizationIn", "OrganizationList", "PageQuery", "Permissions", "PermissionsChange", "Problem",
    "QuoteOut", "QuoteQuery", "Ticket", "TicketChange", "TicketCreate", "TicketCreated", "TicketList",
    "TicketListQuery", "TicketSummary", "UserChange", "UserCreate", "UserCreated", "UserList", "UserOut",
}  # fmt: skip
ADDED = {
    "ArticleFilesIn", "ArticleFileOut", "ArticleFileList", "ArticleFilesAdded", "RevisionSummary",
    "RevisionList", "Revision", "RevisionRestored", "MessagePageQuery",
}  # fmt: skip


def test_the_components_are_those_of_every_domain(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["components"]["schemas"]) == COMPONENTS | ADDED


def test_the_article_files_and_revisions_are_described(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    files, one_file = (
        "/api/v1/kb/articles/{article_id}/files",
        "/api/v1/kb/articles/{article_id}/files/{file_id}",
    )
    upload = paths[files]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]  # files only, no JSON
    assert upload["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["files"]
    assert upload["x-scope"] == "kb:write" and paths[files]["get"]["x-scope"] == "kb:read"
    assert set(paths[one_file]) == {"get", "delete"} and "204" in paths[one_file]["delete"]["responses"]
    restore = paths["/api/v1/kb/articles/{article_id}/revisions/{number}/restore"]["post"]
    assert [p["name"] for p in restore["parameters"] if p["in"] == "header"] == ["If-Match"]
    assert {"412", "428"} <= set(restore["responses"]) and restore["x-scope"] == "kb:write"
    assert {
        "/api/v1/kb/articles/{article_id}/revisions",
        "/api/v1/kb/articles/{article_id}/revisions/{number}",
    } <= set(paths)


def _operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_scoped_operation_documents_the_403_of_a_missing_scope(client):
    """A token without the operation's scope is answered 403 problem+json by every scoped operation
    (routing.require_scope): the document says so for each of them, not only for those whose view
    has a rule of its own that says no."""
    document = client.get("/api/v1/openapi.json").get_json()
    scoped = [(path, method, op) for path, method, op in _operations(document) if "x-scope" in op]
    assert len(scoped) == sum(1 for _ in _operations(document))  # every operation has a scope
    missing = [f"{method.upper()} {path}" for path, method, op in scoped if "403" not in op["responses"]]
    assert missing == []
    for _path, _method, op in scoped:
        ref = op["responses"]["403"]["$ref"].rsplit("/", 1)[1]
        forbidden = document["components"]["responses"][ref]
        assert forbidden["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


def test_every_scoped_operation_answers_403_to_a_token_without_its_scope(client, desk):
    """What the document says, tried: each operation, with an admin's token holding every scope but
    those of the operation's domain, is 403 problem+json naming the scope it lacks."""
    document = client.get("/api/v1/openapi.json").get_json()
    tokens_without = {}
    for path, method, op in _operations(document):
        domain = op["x-scope"].split(":")[0]
        if domain not in tokens_without:
            scopes = [s for s in SCOPES if not s.startswith(f"{domain}:")]
            tokens_without[domain] = bearer(desk.admin, scopes=scopes)
        url = re.sub(r"\{\w+\}", "1", path)
        answer = client.open(url, method=method.upper(), headers=tokens_without[domain])
        assert is_problem(answer, 403), f"{method.upper()} {path}: {answer.status_code}"
        assert op["x-scope"] in answer.get_json()["detail"]
