"""Reading a CSV download as a user's spreadsheet does: Excel takes a file that starts with UTF-8's
byte-order mark as UTF-8 (and hides the mark), and reads any other in the computer's legacy code
page (Windows-1252 in the West), where "≤ 15 min" comes out as "â‰¤ 15 min"."""

import csv
import io

BOM = b"\xef\xbb\xbf"


def spreadsheet_text(response):
    """The download's text as the spreadsheet sees it."""
    data = response.get_data()
    if data.startswith(BOM):
        return data[len(BOM) :].decode("utf-8")
    return data.decode("cp1252", errors="replace")


def spreadsheet_rows(response):
    """The download's rows, each a list of cells."""
    return list(csv.reader(io.StringIO(spreadsheet_text(response))))


def spreadsheet_records(response):
    """The download's rows after the header, each a dict by column name."""
    return list(csv.DictReader(io.StringIO(spreadsheet_text(response))))
