"""A report table's CSV download, for the ticket reports and the knowledge-base report alike.

A CSV cannot show a message, so a download whose filters the form refused is not made (400, the
reasons as plain text) instead of carrying the default period's or all categories' figures under
a name that looks right; a file's name says the table, the category and the period it covers.
"""

from flask import Response
from sqlalchemy import select

from helpdesk.csvexport import csv_response
from helpdesk.extensions import db
from helpdesk.kb.slugs import category_slugs
from helpdesk.tickets.models import Category
from helpdesk.web import labelled_message


def refused(form):
    """400 with what the form refused, one line per error, as the report page names them."""
    reasons = [
        labelled_message(error, form[name].label.text)
        for name, errors in form.errors.items()
        for error in errors
    ]
    text = "\n".join(
        [
            "This CSV was not made: its filters were refused.",
            *reasons,
            "Correct them on the report's page and download the table from there.",
        ]
    )
    response = Response(text + "\n", status=400, mimetype="text/plain")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def filename(prefix, table, flt):
    """report-daily-sales-2026-11-02-2026-11-08.csv: the category's slug (the knowledge base's,
    unambiguous between categories) only when the report is filtered to one."""
    parts = [prefix, table.name]
    if flt.category_id is not None:
        parts.append(category_slugs(db.session.scalars(select(Category)).all())[flt.category_id])
    parts += [flt.start.isoformat(), flt.end.isoformat()]
    return "-".join(parts) + ".csv"


def download(prefix, table, flt):
    """The table as a CSV (its total row last), never stored by a browser or proxy."""
    response = csv_response(filename(prefix, table, flt), table.csv_header(), table.csv_rows())
    response.headers["Cache-Control"] = "private, no-store"
    return response
