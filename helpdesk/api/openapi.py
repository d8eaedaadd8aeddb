"""The OpenAPI 3.1 document, generated from the API's declarations (routing.Operation) and the
pydantic models they name: pydantic writes JSON Schema 2020-12, which is OpenAPI 3.1's own
dialect, so the schemas go in as they are."""

import re
from importlib.metadata import version

from pydantic.json_schema import models_json_schema

from helpdesk.api import schemas
from helpdesk.api.problems import TITLES
from helpdesk.api.routing import JSON, MULTIPART
from helpdesk.api.tokens import SCOPES

REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"
PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
ALWAYS = (401, 429, 500)  # every authenticated operation may answer these
SCOPED = (403,)  # every operation with a scope answers 403 to a token that lacks it (routing.require_scope)
TAGS = {
    "tickets": "Tickets: the queue's list, a ticket, new tickets, changes guarded by If-Match.",
    "messages": "The conversation of a ticket, replies, internal notes and attachments.",
    "credits": "Banks, their statements, and what a priority costs.",
    "people": "Users, organizations and technicians' permissions (admins).",
    "kb": "Knowledge-base articles and their files, for whoever may read them; written (files and "
    "revisions too) by their category's technicians.",
}


def document(operations, server_url="/"):
    """The whole document as a dict (served as JSON at /api/v1/openapi.json)."""
    models = {schemas.Problem}
    for op in operations:
        models.update(m for m in (op.query, op.body, op.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    keyed, defs = models_json_schema(
        [(m, "validation" if m in _inputs(operations) else "serialization") for m in ordered],
        ref_template=REF,
    )
    refs = {model: schema for (model, _mode), schema in keyed.items()}
    paths = {}
    for op in operations:
        path = PATH_PARAMETER.sub(lambda m: "{" + m.group(2) + "}", op.rule)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op, refs, defs.get("$defs", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk API",
            "version": "1.0.0",
            "description": DESCRIPTION,
            "x-generator": f"pydantic {version('pydantic')}",
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token from /account/tokens. Scopes: "
                    + ", ".join(SCOPES),
                }
            },
            "responses": {str(code): _problem_response(code) for code in sorted(TITLES)},
        },
    }


DESCRIPTION = (
    "The help desk's REST API. Authenticate with a personal access token (Authorization: Bearer); "
    "a token acts as its owner, within its scopes, under the same rules as the pages: an object "
    "the owner may not see answers 404. Errors are application/problem+json (RFC 9457). Creates "
    "accept an Idempotency-Key; changes to a ticket or an article need If-Match with its ETag."
)


def _inputs(operations):
    return {m for op in operations for m in (op.query, op.body) if m is not None}


def _problem_response(code):
    return {
        "description": TITLES[code],
        "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def _operation(op, refs, defs):
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
        for _converter, name in PATH_PARAMETER.findall(op.rule)
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, refs[op.query], defs)
    for name, (required, text) in op.request_headers.items():
        parameters.append(
            {
                "name": name,
                "in": "header",
                "required": required,
                "description": text,
                "schema": {"type": "string"},
            }
        )
    item = {
        "operationId": op.endpoint.split(".", 1)[1],
        "summary": op.summary,
        "description": op.description,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": _responses(op, refs),
    }
    if op.scope is not None:
        item["x-scope"] = ":".join(op.scope)
    if op.body is not None:
        content = {} if op.files_only else {JSON: {"schema": refs[op.body]}}
        if op.multipart or op.files_only:
            content[MULTIPART] = {"schema": _form_schema(defs[op.body.__name__], op.files_only)}
        item["requestBody"] = {"required": True, "content": content}
    return item


def _form_schema(schema, files_required=False):
    """The body's fields as multipart form fields, plus the files."""
    files = {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"}}
    if files_required:
        files["minItems"] = 1
    return {
        "type": "object",
        "properties": {**schema.get("properties", {}), "files": files},
        "required": schema.get("required", []) + (["files"] if files_required else []),
    }


def _query_parameters(model, ref, defs):
    schema = defs[ref["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _responses(op, refs):
    success = {"description": op.summary}
    if op.binary:
        success["content"] = {
            "application/octet-stream": {
                "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
            }
        }
    elif op.response is not None:
        success["content"] = {JSON: {"schema": refs[op.response]}}
    if op.headers:
        success["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in op.headers.items()
        }
    responses = {str(op.status): success}
    for code in sorted(set(op.errors) | set(ALWAYS + SCOPED if op.scope else ())):
        responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
    return responses
