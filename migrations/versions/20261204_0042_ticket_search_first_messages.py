"""PostgreSQL: a ticket's search documents keep its first messages, in their order.

A ticket's documents are capped (a tsvector must stay under 1 MB: 400,000 characters of public
text, 200,000 of internal notes), so a ticket that collects long logs keeps its first messages
searchable and its later text goes unindexed. The trigger aggregated the messages in whatever
order the scan read them: after an edit (a new row version) or on a table whose free space was
reused, a sequential scan read them out of order, and the first messages could fall past the cap
(seen as a failure of tests/unit/test_search.py's long-logs test in a full suite run). The
aggregates are now ordered by the message's id. The documents of the tickets whose messages are
long enough for the cap to matter are rebuilt.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-04

"""
from alembic import op


revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def _pg_text(expression):
    return f"regexp_replace(left({expression}, 100000), '[[:punct:]]', ' ', 'g')"


def _function(order):
    # Written out as helpdesk/tickets/search_schema.py makes it for create_all (a test compares
    # the two); `order` is what follows each aggregate's separator.
    comment = (
        "\n    -- The messages in their order (ORDER BY id), whatever order a scan reads them in: the cap"
        "\n    -- keeps the first ones (migration 0042)."
        if order
        else ""
    )
    return f"""\
CREATE OR REPLACE FUNCTION tickets_search_documents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    public_text text;
    internal_text text;
BEGIN
    SELECT string_agg({_pg_text("body")}, ' '{order}) FILTER (WHERE NOT internal),
           string_agg({_pg_text("body")}, ' '{order}) FILTER (WHERE internal)
      INTO public_text, internal_text
      FROM messages WHERE ticket_id = NEW.id;
    -- Positions stripped and each document capped: a tsvector must stay under 1 MB, and a ticket
    -- collecting long logs must never make a reply fail to save (its later text goes unindexed).{comment}
    NEW.search_public := strip(to_tsvector('simple', left({_pg_text("NEW.subject || ' ' || NEW.body")}
                                               || ' ' || coalesce(public_text, ''), 400000)));
    NEW.search_all := NEW.search_public
                      || strip(to_tsvector('simple', left(coalesce(internal_text, ''), 200000)));
    RETURN NEW;
END
$$"""


# Tickets whose messages hold more text than the smaller cap: the only ones whose documents the
# order can change. Setting the subject to itself makes the trigger rebuild them.
REBUILD = """\
UPDATE tickets SET subject = subject WHERE id IN (
    SELECT ticket_id FROM messages GROUP BY ticket_id HAVING sum(length(body)) > 190000)"""


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_function(" ORDER BY id"))
    op.execute(REBUILD)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_function(""))
