"""Ticket search: the words of a query, each found as a word prefix in a ticket's text or messages.

Each ticket has two search documents (models/search.py): its subject, description and public
messages, and the same with internal notes. A search is one condition on `tickets`: a tsvector
column matched against a tsquery on PostgreSQL, an FTS5 table keyed by ticket id on SQLite. User
text never becomes query syntax: words are letters and digits only, each quoted as a literal of
the database's query language.
"""

import re
import unicodedata

from sqlalchemy import false, func, literal, literal_column, select

from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.search_schema import FTS_TABLES, fts_tables

MAX_TERMS = 8
WORD = re.compile(r"[^\W_]+")  # letters and digits; "_" separates words, as in both databases


def terms(query):
    """The distinct words of `query`, lower-cased, at most MAX_TERMS; punctuation is dropped."""
    found = []
    for match in WORD.finditer(unicodedata.normalize("NFC", query or "")):
        # Letter by letter, as the databases fold case (str.lower() would end a word in "ς").
        word = "".join(letter.lower() for letter in match.group())
        if word not in found:
            found.append(word)
        if len(found) == MAX_TERMS:
            break
    return found


def wordless_query_hint(query):
    """What to tell someone whose search has no words (it matches nothing), else None."""
    if query and query.strip() and not terms(query):
        return f"“{query.strip()}” has no words to look for: search finds words made of letters and digits."
    return None


def prefix_tsquery(words, operator="&"):
    """tsquery text matching each of `words` as a prefix, a quoted lexeme each (never tsquery
    syntax), joined by `operator`: "&" for all of them, "|" for any (the knowledge base's suggestions)."""
    return f" {operator} ".join("'" + word.replace("\\", "\\\\").replace("'", "''") + "':*" for word in words)


def prefix_fts5_match(words, operator=" "):
    """FTS5 MATCH text: each of `words` a quoted prefix (never FTS5 syntax), joined by `operator`:
    " " for all of them, " OR " for any."""
    return operator.join('"' + word.replace('"', '""') + '"*' for word in words)


def ticket_condition(query, *, include_internal):
    """A SQL condition on Ticket: the ticket holds every word of `query`, each as a word prefix.

    A word may be in the subject, the description or any message of the ticket ("printer paris"
    finds a ticket whose subject says printer and whose third message says Paris). Internal
    notes count only with `include_internal` (agents; never for customers, whose results would
    otherwise reveal what the notes say). A query without words matches no ticket. The condition
    does not check who may see the tickets: combine it with policy.ticket_visibility().
    """
    words = terms(query)
    if not words:
        return false()
    scope = "all" if include_internal else "public"
    if db.session.get_bind().dialect.name == "postgresql":
        return _postgresql_condition(words, scope)
    # A common table expression: the queue's "Needs attention" page repeats the condition in each
    # of its four branches, and SQLite materializes a CTE used more than once, so the FTS5 match
    # (a common word's prefix reads long lists) runs once per statement, not once per branch.
    matched = _sqlite_ids(words, scope).cte()  # anonymous: two searches in one statement never clash
    return Ticket.id.in_(select(matched.c.rowid))


def matching_ticket_ids(query, *, include_internal):
    """A SELECT of the ids of the tickets ticket_condition() accepts."""
    # Never correlated: inside a query on tickets it stays a query of its own.
    return select(Ticket.id).where(ticket_condition(query, include_internal=include_internal)).correlate(None)


def _postgresql_condition(words, scope):
    """`tickets.search_<scope> @@ 'w1':* & 'w2':*`, each word a quoted lexeme."""
    # Written into the SQL (escaped as a string literal by SQLAlchemy), not sent as a parameter:
    # with a parameter, a prepared statement could settle on one generic plan for every word,
    # while the right plan depends on the word (the GIN index for a rare one, the queue's sort
    # index for a common one) and the planner can tell them apart from the column's statistics.
    tsquery = func.to_tsquery(
        literal_column("'simple'::regconfig"), literal(prefix_tsquery(words), literal_execute=True)
    )
    return literal_column(f"{Ticket.__tablename__}.search_{scope}").bool_op("@@")(tsquery)


def _sqlite_ids(words, scope):
    """Ticket ids from the FTS5 table: `"w1"* "w2"*` is quoted prefixes, all required, never FTS5 syntax."""
    fts = fts_tables[scope]
    match = prefix_fts5_match(words)
    return select(fts.c.rowid).where(fts.c[FTS_TABLES[scope]].bool_op("MATCH")(literal(match)))
