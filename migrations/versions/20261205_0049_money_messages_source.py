"""A ticket's older system messages about money get the source "credits", as new ones have.

Since 5ae96e9 the conversation's system messages about money (a guarantee refund, a withdrawal,
an agent's lowering of a paid priority, the reopening after a refund) carry the source "credits"
and are shown only to those who may see the ticket's charges (its requester, their organization's
manager, agents): never to its subscribers. Messages written before kept the source "system", so
a subscriber still read, on the page and in the API, what an older ticket's requester had paid
and got back.

They are found by their fixed wording, which every version of those messages shared (git log
-G"refunded to" -- helpdesk): a refund's text ends "have been refunded to your bank." or "...
to <owner>'s bank."; the reopening's begins "This ticket was reopened after the credits paid
for". Only messages without an author and of the source "system" are touched: the other system
messages (a merge, a follow-up) end "continues there." or "which was closed.", so a ticket
subject quoted inside them cannot make them match. The downgrade gives them "system" back.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-05

"""

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

MONEY_WORDING = (
    "(body LIKE '%have been refunded to your bank.'"
    " OR body LIKE 'The support team lowered this ticket from %have been refunded to %''s bank.'"
    " OR body LIKE 'This ticket was reopened after the credits paid for % priority were refunded, %')"
)


def upgrade():
    op.get_bind().execute(
        sa.text(
            "UPDATE messages SET source = 'credits'"
            f" WHERE source = 'system' AND author_id IS NULL AND internal = false AND {MONEY_WORDING}"
        )
    )


def downgrade():
    op.get_bind().execute(
        sa.text("UPDATE messages SET source = 'system' WHERE source = 'credits' AND author_id IS NULL")
    )
