"""The benchmark's yardstick: a bare Flask page rendering one 25-row template from the same database.

Run by bench/queue.py under the same gunicorn settings as the help desk: `gunicorn bench.reference_app:app`
with DATABASE_URL in the environment.
"""

import os

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reference</title></head>
<body><table>
<thead><tr><th>#</th><th>Subject</th><th>Status</th><th>Due</th><th>Updated</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td>{{ row.id }}</td><td><a href="/t/{{ row.id }}">{{ row.subject }}</a></td>
<td>{{ row.status }}</td><td>{{ row.due_at }}</td><td>{{ row.updated_at }}</td></tr>
{% endfor %}</tbody></table></body></html>"""


def _url(raw):
    if raw.startswith("postgresql://"):
        return "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


app = Flask(__name__)
engine = create_engine(_url(os.environ["DATABASE_URL"]))


@app.get("/")
def page():
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, subject, status, due_at, updated_at FROM tickets ORDER BY id DESC LIMIT 25")
        ).all()
    return render_template_string(PAGE, rows=rows)
