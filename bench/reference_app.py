"""The benchmark's yardstick: a bare Flask page rendering one 25-row template from the same database.

Run by bench/queue_bench.py under the same gunicorn settings as the help desk: `gunicorn bench.reference_app:app`
with DATABASE_URL in the environment.
"""

import os

from flask import Flask, render_template
from sqlalchemy import create_engine, text


def _url(raw):
    if raw.startswith("postgresql://"):
        return "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


app = Flask(__name__)  # templates/reference.html, loaded once and cached like any Flask page
engine = create_engine(_url(os.environ["DATABASE_URL"]))


@app.get("/")
def page():
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, subject, status, due_at, updated_at FROM tickets ORDER BY id DESC LIMIT 25")
        ).all()
    return render_template("reference.html", rows=rows)
