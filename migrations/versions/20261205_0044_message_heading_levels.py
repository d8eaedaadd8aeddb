"""A message's own headings sit one level lower: every message in a conversation is headed.

The ticket page's conversation now gives each message (and the ticket's description) an h3 of its
author and time, so screen-reader users move from message to message by heading. The headings its
author wrote therefore start at h4 (rendering.MESSAGE_HEADINGS, 3 before). The HTML kept with
each text (`body_html`, migration 0037) is shifted in place: sanitised HTML writes headings as
bare `<h3>`...`</h6>` tags (no attributes, and a `<` in text is `&lt;`), so a plain replace on
both databases moves h5 to h6, h4 to h5 and h3 to h4, in that order. An h6 stays an h6 (there is
no h7); the downgrade moves them back up, with a former h5 and h6 both returning as h5.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-05

"""
from alembic import op


revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None

TABLES = ('tickets', 'messages')


def _shifted(steps):
    expression = 'body_html'
    for old, new in steps:  # applied in this order (the first is innermost)
        expression = f"replace(replace({expression}, '<h{old}>', '<h{new}>'), '</h{old}>', '</h{new}>')"
    return expression


def _shift(steps):
    for table in TABLES:
        op.execute(f"UPDATE {table} SET body_html = {_shifted(steps)} WHERE body_html LIKE '%<h%'")


def upgrade():
    _shift([(5, 6), (4, 5), (3, 4)])


def downgrade():
    _shift([(4, 3), (5, 4), (6, 5)])
