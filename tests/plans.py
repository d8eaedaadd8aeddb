"""SQLite's query plans, for the tests that check which index a statement reads."""

from sqlalchemy import event

from helpdesk.extensions import db


def sqlite_plan(statement, parameters, connection=None):
    """The steps of SQLite's plan for `statement` run with `parameters` (EXPLAIN QUERY PLAN's
    detail column, e.g. "SEARCH tickets USING INDEX ix_... (status=?)"), on `connection` or the
    session's."""
    connection = connection or db.session.connection()
    return [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]


def statements_run(client, path, keep=lambda statement: True):
    """(the response, [(statement, parameters)] of each statement `keep` picks) of GET `path`."""
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if keep(statement):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return response, seen
