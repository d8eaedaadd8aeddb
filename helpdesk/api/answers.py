"""Shared pieces of the API's views: domain errors as problems, pages, ETags, idempotent creates."""

import json
import secrets

from flask import Response, abort, request, url_for
from flask_login import current_user
from werkzeug.http import parse_etags

from helpdesk.actions import perform
from helpdesk.api import idempotency
from helpdesk.api.problems import ApiProblem
from helpdesk.api.routing import JSON
from helpdesk.errors import (
    ConcurrentChange,
    DomainError,
    InsufficientCredits,
    NotAllowed,
    NotFound,
    StaleUpdate,
    StorageError,
    UploadRejected,
)
from helpdesk.extensions import db


def problem_for(error):
    """The ApiProblem a service's DomainError answers with."""
    if isinstance(error, NotFound):
        return ApiProblem(404, str(error))
    if isinstance(error, ConcurrentChange):
        return ApiProblem(409, str(error))
    if isinstance(error, StaleUpdate):
        return ApiProblem(412, str(error))
    if isinstance(error, StorageError):
        return ApiProblem(503, str(error), headers={"Retry-After": "30"})
    if isinstance(error, UploadRejected):  # `messages`: one per refused file, when several
        messages = getattr(error, "messages", None) or [str(error)]
        return ApiProblem(422, str(error), errors=[{"field": "files", "message": m} for m in messages])
    if isinstance(error, InsufficientCredits):
        return ApiProblem(422, str(error), errors=[{"field": "priority_id", "message": str(error)}])
    if isinstance(error, NotAllowed):
        return ApiProblem(403, str(error))
    field = getattr(error, "field", None) or "body"  # people.FieldRefused names its field
    return ApiProblem(422, str(error), errors=[{"field": field, "message": str(error)}])


def run(service, *args, **kwargs):
    """perform(service) and its value, or the problem its DomainError answers with."""
    outcome = perform(service, *args, **kwargs)
    if not outcome.ok:
        raise problem_for(outcome.error)
    return outcome.value


def sent_fields(body, nullable=()):
    """The fields a PATCH body sent ({name: value}), or 422 naming each one sent as null that may
    not be (only the names in `nullable` may: null there means "none")."""
    fields = body.model_dump(include=body.model_fields_set)
    empty = sorted(name for name, value in fields.items() if value is None and name not in nullable)
    if empty:
        hint = f"Give a value (only {', '.join(sorted(nullable))} may be null)." if nullable else None
        message = hint or "Give a value, or leave the field out."
        raise ApiProblem(
            422,
            "Some values were refused: see errors.",
            errors=[{"field": n, "message": message} for n in empty],
        )
    return fields


def etag(version):
    return f'"{version}"'


def if_match_version(current, noun="ticket"):
    """The version named by If-Match: 428 when missing; `*` (RFC 9110: any version) is `current`,
    the client's explicit choice to overwrite; a value that names no version is stale (412), and
    so is a weak tag (`W/"7"`: If-Match compares strongly, RFC 9110 13.1.1)."""
    header = request.headers.get("If-Match")
    if header is None:
        raise ApiProblem(428, f"Send If-Match with the {noun}'s ETag (its version) to change it.")
    tags = parse_etags(header)
    if tags.star_tag:
        return current
    # `""` parses as None; a version is ASCII digits ("²" is a digit to isdigit(), no number to
    # int(): a 500) that fit the column (a longer one cannot be compared on SQLite: a 500 too).
    values = [t for t in tags.as_set(include_weak=False) if t and t.isascii() and t.isdigit() and len(t) < 19]
    if len(values) != 1:
        raise ApiProblem(412, f"If-Match names no version of this {noun}: read it again.")
    return int(values[0])


def page_url(endpoint, after, *, cursor="after", **args):
    """The address of the page after `after` (the argument `cursor`), keeping the other arguments
    (defaults left out)."""
    kept = {k: v for k, v in args.items() if v not in (None, "", False)}
    return url_for(endpoint, **kept, **{cursor: after})


def keyset_page(statement, query, out, endpoint, *, key=lambda item: item.id, cursor="after", **args):
    """(items, next address) of one page: `statement` (already after the cursor and in order)
    read for one row more than `query.limit`, each row given by `out`; `next` is the address of the
    page after the last item (its cursor `key(item)`, as the argument `cursor`), or None on the
    last page."""
    found = db.session.scalars(statement.limit(query.limit + 1)).all()
    items = [out(row) for row in found[: query.limit]]
    if len(found) <= query.limit:
        return items, None
    return items, page_url(endpoint, key(items[-1]), cursor=cursor, limit=query.limit, **args)


def create(service, render, *, payload, files=(), visible=None):
    """An idempotent create. `service(submission_key)` makes the object (a domain service called
    with a submission key made from the Idempotency-Key, or a fresh one without it);
    `render(value)` gives (answer model, status, Location). The first answer under a key is kept
    in the same transaction; a retry with the same body gets it again, with another body 422.
    `visible(answer)` (the kept answer's JSON) says whether the token's owner may still see what
    it made: when not (a category taken away since), the retry answers 404, as reading it does."""
    user = current_user._get_current_object()
    key = request.headers.get("Idempotency-Key")
    request_hash = None
    if key is not None:
        if not idempotency.valid_key(key):
            message = f"An Idempotency-Key is 1 to {idempotency.MAX_KEY_LENGTH} printable characters."
            raise ApiProblem(422, message, errors=[{"field": "header.Idempotency-Key", "message": message}])
        request_hash = idempotency.fingerprint(request.method, request.path, payload, files)
        kept = idempotency.find(user, key)
        if kept is not None:
            return _replay(kept, request_hash, visible)
    submission_key = idempotency.submission_key(user, key) if key is not None else secrets.token_hex(32)

    def make():
        row = None
        if key is not None:
            row, twin = idempotency.claim(user, key, request_hash)
            if twin is not None:
                raise TwinWon(twin)
        model, status, location = render(service(submission_key))
        body = model.model_dump_json()
        if row is not None:
            idempotency.fill(row, status, body, location)
        return body, status, location

    outcome = perform(make)
    if isinstance(outcome.error, TwinWon):  # a request with this key finished first: its answer
        return _replay(outcome.error.kept, request_hash, visible)
    if not outcome.ok:
        raise problem_for(outcome.error)
    return _answer(*outcome.value)


class TwinWon(DomainError):
    """Another request with the same Idempotency-Key stored its answer first."""

    def __init__(self, kept):
        super().__init__("The same request was made at the same time.")
        self.kept = kept


REUSED_KEY = "This Idempotency-Key was already used for a different request."


def _replay(kept, request_hash, visible=None):
    if kept.request_hash != request_hash:  # (another path too: the key may be another create's)
        raise ApiProblem(422, REUSED_KEY, errors=[{"field": "header.Idempotency-Key", "message": REUSED_KEY}])
    if visible is not None and not visible(json.loads(kept.body)):
        abort(404)
    response = _answer(kept.body, kept.status, kept.location)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _answer(body, status, location):
    response = Response(body, status=status, mimetype=JSON)
    response.headers["Cache-Control"] = "no-store"
    if location:
        response.headers["Location"] = location
    return response
