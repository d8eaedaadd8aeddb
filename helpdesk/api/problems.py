"""Errors of the API as application/problem+json (RFC 9457): every answer under /api that is not
a success has this shape, with the field errors of a refused body in `errors`."""

import json

from flask import Response, request
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
DETAILS = {
    401: "Send a personal access token: Authorization: Bearer <token>.",
    404: "There is nothing here, or your token's owner may not see it.",
    405: "This address does not accept that method.",
    413: "The request body is larger than the server accepts.",
    500: "The error was logged. Please try again.",
}


class ApiProblem(Exception):
    """Raised by API code to answer with a problem document."""

    def __init__(self, status, detail=None, *, errors=None, headers=None):
        super().__init__(detail or DETAILS.get(status) or TITLES.get(status, ""))
        self.status, self.detail, self.errors, self.headers = status, str(self), errors, headers or {}


def problem(status, detail=None, *, errors=None, headers=None):
    """The problem document for `status` (a Response)."""
    document = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or DETAILS.get(status) or TITLES.get(status, "Error"),
        "instance": request.path,
    }
    if errors:
        document["errors"] = errors
    response = Response(json.dumps(document), status=status, mimetype=PROBLEM_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    return response


def from_exception(error):
    """An ApiProblem or an HTTP error (abort(404), a routing 405, a 413) as a problem document."""
    if isinstance(error, ApiProblem):
        return problem(error.status, error.detail, errors=error.errors, headers=error.headers)
    code = getattr(error, "code", None) or 500
    headers = {}
    if isinstance(error, HTTPException) and code == 405:
        allowed = error.valid_methods or []
        if allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
    detail = DETAILS.get(code) if code in DETAILS else getattr(error, "description", None)
    return problem(code, detail, headers=headers)


def field_errors(validation_error):
    """pydantic's errors as [{"field": "a.b", "message": "..."}] (the input's values left out)."""
    found = []
    for item in validation_error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item.get("loc", ())) or "body"
        found.append({"field": field, "message": item.get("msg", "Invalid value.")})
    return found
