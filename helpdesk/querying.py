"""Small SQL helpers every domain uses."""

from sqlalchemy import inspect, literal


def escape_like(text):
    """`text` with LIKE's wildcards escaped (use with escape="\\\\"), so user input matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


MAX_ROW_ID = 2**31 - 1  # INTEGER primary keys: PostgreSQL refuses a larger number outright (a 500)


def row_id(value):
    """`value` as an id that can name a row (1 .. MAX_ROW_ID), else ValueError; as a `type=` of
    `request.args.get`, a number no row can have reads as absent instead of failing in the database."""
    number = int(value)
    if not 0 < number <= MAX_ROW_ID:
        raise ValueError(f"not a row id: {value!r}")
    return number


def is_row_id(value):
    """Whether `value` is an int that can name a row (see row_id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID


def id_of(instance):
    """The primary key of a row the session has saved, read without loading it again: after a
    commit every loaded row is expired, and reading `.id` would start a transaction (on SQLite,
    BEGIN IMMEDIATE takes the write lock) only to read back what is already known."""
    return inspect(instance).identity[0]


def in_values(column, values):
    """`column IN (?, ?, ...)` over a fixed list of values, one bind parameter each. `in_()` with a
    list makes one "expanding" parameter that SQLAlchemy rewrites into the SQL on every execution
    of even a prebuilt statement; a constant list (the open statuses, the agent roles) needs none."""
    return column.in_([literal(value, column.type) for value in values])


def not_in_values(column, values):
    """`column NOT IN (?, ?, ...)`, like in_values."""
    return column.notin_([literal(value, column.type) for value in values])
