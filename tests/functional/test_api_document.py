"""The OpenAPI 3.1 document: valid, generated from the views (every API route is in it), public,
with a reference page rendered on the server; answers match the document's schemas."""

import jsonschema
from openapi_spec_validator import validate

from helpdesk.api.blueprints import PREFIX

from .api_support import bearer


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
