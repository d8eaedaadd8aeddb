"""Every error under /api answers application/problem+json: the blueprint's own errors here, and
routing errors (an unknown address, a wrong method) through web.register_error_renderer."""

from flask import current_app
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from helpdesk.api.problems import ApiProblem, from_exception, problem
from helpdesk.errors import CONFLICT_TEXT, is_conflict
from helpdesk.extensions import db


def render_error(error):
    if getattr(error, "code", 500) == 500:
        db.session.rollback()
    return from_exception(error)


def _database_error(error):
    db.session.rollback()
    if is_conflict(error):
        return problem(409, CONFLICT_TEXT)
    current_app.logger.error("API request failed", exc_info=error)
    return problem(500)


def _server_error(_error):
    """An unhandled exception: Flask has logged it already; the client gets no detail."""
    db.session.rollback()
    return problem(500)


def register_errors(bp):
    bp.register_error_handler(ApiProblem, from_exception)
    bp.register_error_handler(HTTPException, render_error)
    bp.register_error_handler(DBAPIError, _database_error)
    bp.register_error_handler(InternalServerError, _server_error)
