"""The internal note box keeps its own draft (issue 16 item 6).

The ticket page has a reply box and an internal note box; each is saved while the agent types
and given back on reload. reply_drafts gets `kind` ("reply" or "note") in its primary key; the
drafts already saved are the reply box's and are kept. The table is made again (its rows copied
through a holding table) rather than altered in batch mode, so the SQLite schema is exactly the
one `create_all` makes.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

COLUMNS = "ticket_id, user_id, body, submission_key, updated_at, expires_at"


def _create(with_kind):
    columns = [
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
    ]
    if with_kind:
        columns.append(sa.Column('kind', sa.String(length=8), server_default='reply', nullable=False))
    columns += [
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('submission_key', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
    ]
    key = ['ticket_id', 'user_id'] + (['kind'] if with_kind else [])
    op.create_table(
        'reply_drafts',
        *columns,
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_reply_drafts_ticket_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reply_drafts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint(*key, name=op.f('pk_reply_drafts')),
    )
    op.create_index(op.f('ix_reply_drafts_expires_at'), 'reply_drafts', ['expires_at'], unique=False)


def _remake(with_kind, keep_where=""):
    op.execute(f"CREATE TABLE reply_drafts_0035 AS SELECT {COLUMNS} FROM reply_drafts {keep_where}")
    op.drop_index(op.f('ix_reply_drafts_expires_at'), table_name='reply_drafts')
    op.drop_table('reply_drafts')
    _create(with_kind)
    op.execute(f"INSERT INTO reply_drafts ({COLUMNS}) SELECT {COLUMNS} FROM reply_drafts_0035")
    op.execute("DROP TABLE reply_drafts_0035")


def upgrade():
    _remake(with_kind=True)


def downgrade():
    _remake(with_kind=False, keep_where="WHERE kind = 'reply'")
