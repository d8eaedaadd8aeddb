"""CSV export of report tables, safe to open in a spreadsheet."""

import csv
import io
from datetime import date

# A cell starting with one of these would run as a formula in a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table_csv(table):
    """The table as CSV text: a header row of column labels, then raw values (minutes as decimals)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_header(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _header(column):
    suffix = {"minutes": " (minutes)", "percent": " (%)"}.get(column.kind, "")
    return column.label + suffix
