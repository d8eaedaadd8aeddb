"""How an API view is declared: one decorator gives its URL, method, scope, the pydantic models
of its query, body and answer, and its error statuses. The same declarations make the OpenAPI
document (openapi.py), so the document cannot drift from what the views accept and answer."""

from dataclasses import dataclass, field
from functools import wraps

from flask import Response, g, request
from pydantic import BaseModel, ValidationError

from helpdesk.api import tokens
from helpdesk.api.problems import ApiProblem, field_errors
from helpdesk.web import clean_text

JSON = "application/json"
MULTIPART = "multipart/form-data"


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    scope: tuple | None
    query: type | None = None
    body: type | None = None
    response: type | None = None
    status: int = 200
    errors: tuple = ()
    multipart: bool = False  # the body may also come as multipart/form-data (with files)
    files_only: bool = False  # the body comes only as multipart/form-data (an upload)
    binary: bool = False
    headers: dict = field(default_factory=dict)  # response headers documented: name -> description
    request_headers: dict = field(default_factory=dict)  # name -> (required, description)
    description: str = ""


class Api:
    """A blueprint's API operations (see `route`)."""

    def __init__(self, blueprint, prefix):
        self.blueprint, self.prefix, self.operations = blueprint, prefix, []

    def route(self, rule, method="GET", *, summary, tag, scope=None, **options):
        """Declare an API view. `scope` ("tickets", "read") is checked against the token; `query`
        and `body` models parse the query string and the JSON (or, with `multipart`, form) body
        into the view's `query=` and `body=` arguments (422 with field errors when refused)."""

        def decorator(view):
            operation = Operation(
                rule=self.prefix + rule,
                method=method,
                endpoint=f"{self.blueprint.name}.{view.__name__}",
                summary=summary,
                tag=tag,
                scope=scope,
                description=(view.__doc__ or "").strip(),
                **options,
            )
            self.operations.append(operation)

            @wraps(view)
            def wrapped(**kwargs):
                if operation.scope is not None:
                    require_scope(*operation.scope)
                if operation.query is not None:
                    kwargs["query"] = parse(operation.query, request.args.to_dict(), "query")
                if operation.body is not None:
                    data = request_body(operation.multipart or operation.files_only, operation.files_only)
                    kwargs["body"] = parse(operation.body, data, "body")
                return view(**kwargs)

            self.blueprint.add_url_rule(rule, view.__name__, wrapped, methods=[method])
            return wrapped

        return decorator


def require_scope(domain, level):
    if not tokens.allows(g.api_token.scopes, domain, level):
        raise ApiProblem(403, f"This token lacks the {domain}:{level} scope.")


def parse(model, data, where):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        if where == "query":
            for item in errors:
                item["field"] = f"query.{item['field']}"
        raise ApiProblem(422, "Some values were refused: see errors.", errors=errors) from exc


def request_body(multipart, files_only=False):
    """The body's fields: a JSON object, or (where files may come) multipart form fields."""
    if multipart and request.mimetype == MULTIPART:  # the form's fields are cleaned (web.CleanInput)
        return {key: request.form.get(key) for key in request.form}
    if files_only:
        raise ApiProblem(415, f"Send the files as {MULTIPART}, in the field `files`.")
    if request.mimetype != JSON:
        accepted = f"{JSON} or {MULTIPART}" if multipart else JSON
        raise ApiProblem(415, f"Send the body as {accepted}.")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # json's parser recurses: a few kB of "[[[[" run out of stack (a 500)
        raise ApiProblem(400, TOO_DEEP) from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "The body is not a JSON object.")
    return cleaned(data)


MAX_DEPTH = 32  # levels of JSON nesting in a body; every model here nests three at most
TOO_DEEP = f"The body is nested deeper than {MAX_DEPTH} levels."


def cleaned(value, depth=0):
    """A JSON value with every string (names and values, at any depth up to MAX_DEPTH, 400
    beyond) cleaned as the forms' fields are (web.clean_text: no NUL or other control character
    but tab and newlines, which PostgreSQL would refuse with a 500 or SQLite store)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | dict) and depth >= MAX_DEPTH:
        raise ApiProblem(400, TOO_DEEP)
    if isinstance(value, list):
        return [cleaned(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {clean_text(name): cleaned(item, depth + 1) for name, item in value.items()}
    return value


def respond(model: BaseModel, status=200, headers=None):
    """`model` as JSON (the document's schema for this answer, by construction)."""
    response = Response(model.model_dump_json(), status=status, mimetype=JSON)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
