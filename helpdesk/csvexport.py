"""The one CSV writer: every export goes through it, so every cell is safe to open in a spreadsheet
and every character reads as written."""

import csv
import io
from datetime import date, datetime

from flask import Response

# UTF-8's byte-order mark: Excel reads a CSV without it in the computer's legacy code page, so
# "≤ 15 min", a curly quote or "Zoë" came out as "â‰¤ 15 min"; other spreadsheets skip it.
BOM = "\ufeff"

# A cell starting with one of these would run as a formula in a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A value as a CSV cell: dates in ISO form, text that a spreadsheet would run as a formula
    prefixed with an apostrophe (numbers stay numbers, so negative amounts are untouched)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header, rows):
    """CSV text (RFC 4180 line ends): the header row, then each row's cells through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def csv_response(filename, header, rows):
    """A CSV download named `filename`: csv_text in UTF-8, after a byte-order mark."""
    return Response(
        BOM + csv_text(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
