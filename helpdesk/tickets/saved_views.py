"""An agent's saved views: create, rename, delete, list; each agent sees only their own.

A saved view is the queue's query string under a name. It is read back through the queue's own
argument parsing (forms.QueueArgs), so it lists and counts exactly what the queue would for its
owner, under the owner's policy filter (views_builtin.view_counts). Another agent's view is
missing (NotFound: 404), never forbidden.
"""

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.accounts.models import User
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets.saved_view_models import NAME_MAX, QUERY_MAX, SavedView

MAX_PER_AGENT = 30


# Every agent page's sidebar reads them: rows (id, name, query), not ORM objects, from a statement
# built once of the table's own columns (a statement of the model's attributes goes through the
# ORM's result machinery, twice the cost of these three columns: 45 against 26 µs).
_TABLE = SavedView.__table__
VIEWS_OF = (
    select(_TABLE.c.id, _TABLE.c.name, _TABLE.c.query)
    .where(_TABLE.c.owner_id == bindparam("owner_id"))
    .order_by(func.lower(_TABLE.c.name), _TABLE.c.id)
)


def views_of(owner):
    """The owner's saved views as rows (id, name, query), by name (at most MAX_PER_AGENT)."""
    return db.session.execute(VIEWS_OF, {"owner_id": owner.id}).all()


def get_own(owner, view_id):
    """The owner's view `view_id`; NotFound for a missing one or another agent's."""
    view = db.session.get(SavedView, view_id) if isinstance(view_id, int) else None
    if view is None or view.owner_id != owner.id:
        raise NotFound("No such view.")
    return view


def clean_name(raw):
    """The name as shown: spaces collapsed; refuses an empty or too long one."""
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed("Give the view a name.")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"A view's name is at most {NAME_MAX} characters ({len(name)} given).")
    return name


def _check_unique(owner, name, except_id=None):
    query = select(SavedView.id).where(
        SavedView.owner_id == owner.id, func.lower(SavedView.name) == name.lower()
    )
    if except_id is not None:
        query = query.where(SavedView.id != except_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ValidationFailed(_taken(name))


def _taken(name):
    return f"You already have a view named “{name}”: choose another name."


def _write(view, name):
    """Write the name in a savepoint: a concurrent request (a double click) that took the same
    name first is the same clear error, not a failed transaction."""
    try:
        with db.session.begin_nested():
            view.name = name
            db.session.add(view)
    except IntegrityError as exc:
        raise ValidationFailed(_taken(name)) from exc


def create(owner, name, query):
    """Save `query` (the queue's query string) as the owner's view `name`.

    Guarantees: the name is non-empty, at most NAME_MAX characters and unique for the owner
    (ignoring case); an owner keeps at most MAX_PER_AGENT views, also when saves race: the owner's
    row is locked before counting (FOR NO KEY UPDATE on PostgreSQL, which leaves the rows that refer
    to the agent free to be written; on SQLite a writer holds the write lock from BEGIN IMMEDIATE),
    so a second save counts after the first one's commit."""
    name = clean_name(name)
    if len(query) > QUERY_MAX:
        raise ValidationFailed("These filters are too long to save as a view: shorten the search.")
    db.session.execute(select(User.id).where(User.id == owner.id).with_for_update(key_share=True)).one()
    count = db.session.scalar(select(func.count()).where(SavedView.owner_id == owner.id))
    if count >= MAX_PER_AGENT:
        raise ValidationFailed(
            f"You already have {MAX_PER_AGENT} saved views, the most one agent may keep: "
            "delete one you no longer use, then save this one."
        )
    _check_unique(owner, name)
    view = SavedView(owner_id=owner.id, query=query)
    _write(view, name)
    return view


def rename(owner, view_id, name):
    """Rename the owner's view (same rules for the name as `create`)."""
    view = get_own(owner, view_id)
    name = clean_name(name)
    _check_unique(owner, name, except_id=view.id)
    _write(view, name)
    return view


def delete(owner, view_id):
    """Delete the owner's view; returns its name."""
    view = get_own(owner, view_id)
    name = view.name
    db.session.delete(view)
    db.session.flush()
    return name
