"""Ticket search: the words of a query, each found as a word prefix in a ticket's text or messages.

Indexed on both databases (models/search.py): GIN tsvector indexes on PostgreSQL, FTS5 tables on
SQLite. User text never becomes query syntax: words are letters and digits only, and each is
sent as a bound parameter, quoted as a literal of the database's query language.
"""

import re
import unicodedata

from sqlalchemy import false, func, intersect, literal, literal_column, select, union_all

from ..extensions import db
from ..models import Message, Ticket
from ..models.search import MESSAGE_VECTOR, TICKET_VECTOR, messages_fts, tickets_fts

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


def matching_ticket_ids(query, *, include_internal):
    """A SELECT of the ids of the tickets holding every word of `query`, each as a word prefix.

    A word may be in the subject, the description or any message of the ticket ("printer paris"
    finds a ticket whose subject says printer and whose third message says Paris). Internal
    notes count only with `include_internal` (agents; never for customers, whose results would
    otherwise reveal what the notes say). A query without words matches no ticket. The SELECT
    does not check who may see the tickets: combine it with policy.ticket_visibility().
    """
    words = terms(query)
    if not words:
        return select(Ticket.id).where(false())
    term_match = _postgresql_term if db.session.get_bind().dialect.name == "postgresql" else _sqlite_term
    # UNION ALL, not UNION: the IN around it removes duplicates anyway, and PostgreSQL then looks
    # up each matching ticket by id, which makes selective words cost well under a millisecond.
    per_term = [
        select(union_all(*term_match(word, include_internal)).subquery(f"term_{n}").c.ticket_id)
        for n, word in enumerate(words)
    ]
    return per_term[0] if len(per_term) == 1 else intersect(*per_term)


def _postgresql_term(word, include_internal):
    """Ticket ids whose text, and ticket ids whose messages, have a word starting with `word`."""
    quoted = word.replace("\\", "\\\\").replace("'", "''")
    prefix = func.to_tsquery(literal_column("'simple'::regconfig"), literal(f"'{quoted}':*"))
    in_tickets = select(Ticket.id.label("ticket_id")).where(
        literal_column(TICKET_VECTOR).bool_op("@@")(prefix)
    )
    in_messages = select(Message.ticket_id).where(literal_column(MESSAGE_VECTOR).bool_op("@@")(prefix))
    if not include_internal:
        in_messages = in_messages.where(Message.internal.is_(False))
    return in_tickets, in_messages


def _sqlite_term(word, include_internal):
    """The same on SQLite's FTS5 tables: `"word"*` is a quoted prefix query, never FTS5 syntax."""
    prefix = literal('"' + word.replace('"', '""') + '"*')
    in_tickets = select(tickets_fts.c.rowid.label("ticket_id")).where(
        tickets_fts.c.tickets_fts.bool_op("MATCH")(prefix)
    )
    in_messages = (
        select(Message.ticket_id)
        .join_from(messages_fts, Message, Message.id == messages_fts.c.rowid)
        .where(messages_fts.c.messages_fts.bool_op("MATCH")(prefix))
    )
    if not include_internal:
        in_messages = in_messages.where(Message.internal.is_(False))
    return in_tickets, in_messages
