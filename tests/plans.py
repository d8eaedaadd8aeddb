"""SQLite's query plans, for the tests that check which index a statement reads."""

from helpdesk.extensions import db


def sqlite_plan(statement, parameters, connection=None):
    """The steps of SQLite's plan for `statement` run with `parameters` (EXPLAIN QUERY PLAN's
    detail column, e.g. "SEARCH tickets USING INDEX ix_... (status=?)"), on `connection` or the
    session's."""
    connection = connection or db.session.connection()
    return [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
