"""How report values read on the page (the CSV keeps the raw numbers)."""

from datetime import date


def format_minutes(minutes):
    """A duration for people: 45 min, 3 h 20 min, 2 d 4 h."""
    total = int(round(minutes))
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_cell(value, kind):
    """One table cell: an en dash for no data, durations humanised, percentages with a sign."""
    if value is None:
        return "–"
    if kind == "minutes":
        return format_minutes(value)
    if kind == "percent":
        return f"{value:g}%"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
