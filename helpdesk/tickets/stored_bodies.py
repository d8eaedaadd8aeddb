"""The rendered HTML kept beside each ticket description and message (models.stored_html_of).

`render_bodies` fills in what rows written without it lack (rows from before migration 0037,
or written by a Core INSERT that left it out), or renders every row again (`everything`) after an upgrade of Markdown or nh3
or a change of rendering.py's allowlist. It works in batches of ids, each in its own
transaction, and writes only `body_html`: no ticket changes version or time, no search trigger
fires. Safe to run beside the app and more than once.
"""

from sqlalchemy import bindparam, select, update

from helpdesk.extensions import db
from helpdesk.rendering import stored_html
from helpdesk.tickets.models import Message, Ticket

BATCH = 500


def render_bodies(*, everything=False, batch=BATCH, commit=None):
    """Render the bodies missing their HTML (or all of them); returns {"tickets": n, "messages": n}."""
    done = {}
    for name, model in (("tickets", Ticket), ("messages", Message)):
        done[name] = _render_table(model, everything, batch, commit or db.session.commit)
    return done


def _render_table(model, everything, batch, commit):
    table = model.__table__
    write = update(table).where(table.c.id == bindparam("row_id")).values(body_html=bindparam("html"))
    after, count = 0, 0
    while True:
        query = select(table.c.id, table.c.body).where(table.c.id > after).order_by(table.c.id).limit(batch)
        if not everything:
            query = query.where(table.c.body_html.is_(None))
        rows = db.session.execute(query).all()
        if not rows:
            return count
        db.session.execute(write, [{"row_id": row.id, "html": stored_html(row.body)} for row in rows])
        commit()
        after, count = rows[-1].id, count + len(rows)
