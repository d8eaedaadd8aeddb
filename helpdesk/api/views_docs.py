"""The API's description: the OpenAPI document and a reference page rendered from it on the
server (no script, no CDN)."""

from flask import current_app, jsonify, render_template

from helpdesk.api import openapi
from helpdesk.api.blueprints import api, bp


def current_document():
    """Built once per app (the declarations do not change while it runs)."""
    if "api_document" not in current_app.extensions:
        current_app.extensions["api_document"] = openapi.document(api.operations)
    return current_app.extensions["api_document"]


@bp.get("/openapi.json")
def openapi_document():
    response = jsonify(current_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/reference")
def reference():
    """The reference page: every operation with its parameters, body, answers and scope."""
    document = current_document()
    return render_template("api/reference.html", document=document, operations=_operations(document))


def _operations(document):
    found = []
    for path, methods in document["paths"].items():
        for method, item in methods.items():
            found.append({"path": path, "method": method.upper(), **item})
    order = [tag["name"] for tag in document["tags"]]
    return sorted(found, key=lambda op: (order.index(op["tags"][0]), op["path"], op["method"]))
