"""Business hours and service targets: calendars, resolution targets, clocks on tickets.

- business_calendars (+ their weekly intervals and closed dates): the default calendar (no
  category) and one per category at most. The upgrade creates a round-the-clock default, so
  existing due times and behaviour do not change until an admin sets the desk's hours.
- priorities: an optional resolution target, whether targets count business hours or round the
  clock, and the share refunded when a paid resolution target is missed.
- tickets: when each clock becomes at risk, the resolution due time and its pauses ("waiting on
  customer"), when warnings went out, and the credits paid for the priority (kept by the
  ledger; filled here from the existing entries).

Columns are added with plain ALTER TABLE (no table rebuild), so the search triggers on tickets
stay as they are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime()
TICKET_COLUMNS = (
    ('response_warn_at', UTC_DATETIME),
    ('resolution_due_at', UTC_DATETIME),
    ('resolution_warn_at', UTC_DATETIME),
    ('resolution_paused_at', UTC_DATETIME),
    ('response_warned_at', UTC_DATETIME),
    ('resolution_warned_at', UTC_DATETIME),
)


def upgrade():
    op.create_table(
        'business_calendars',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('always_open', sa.Boolean(), nullable=False),
        sa.Column('holiday_country', sa.String(length=2), nullable=True),
        sa.Column('holiday_subdivision', sa.String(length=10), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_business_calendars_updated_by_id_users')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_business_calendars_category_id_categories'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_business_calendars')),
        sa.UniqueConstraint('category_id', name=op.f('uq_business_calendars_category_id')),
    )
    op.create_table(
        'calendar_intervals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('calendar_id', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('start_minute', sa.Integer(), nullable=False),
        sa.Column('end_minute', sa.Integer(), nullable=False),
        sa.CheckConstraint('weekday >= 0 AND weekday <= 6', name=op.f('ck_calendar_intervals_weekday_valid')),
        sa.CheckConstraint('start_minute >= 0 AND start_minute < 1440', name=op.f('ck_calendar_intervals_start_valid')),
        sa.CheckConstraint('end_minute > 0 AND end_minute <= 1440', name=op.f('ck_calendar_intervals_end_valid')),
        sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_calendar_intervals_calendar_id_business_calendars'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_intervals')),
    )
    op.create_index(op.f('ix_calendar_intervals_calendar_id'), 'calendar_intervals', ['calendar_id'], unique=False)
    op.create_table(
        'calendar_closures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('calendar_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_calendar_closures_calendar_id_business_calendars'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_closures')),
        sa.UniqueConstraint('calendar_id', 'day', name=op.f('uq_calendar_closures_calendar_id_day')),
    )

    op.add_column('priorities', sa.Column('resolution_minutes', sa.Integer(), nullable=True))
    op.add_column('priorities', sa.Column('business_hours', sa.Boolean(), server_default=sa.text('true'), nullable=False))
    op.add_column('priorities', sa.Column('resolution_refund_percent', sa.Integer(), server_default=sa.text('0'), nullable=False))

    for name, type_ in TICKET_COLUMNS:
        op.add_column('tickets', sa.Column(name, type_, nullable=True))
    op.add_column('tickets', sa.Column('resolution_paused_minutes', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('tickets', sa.Column('paid_credits', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.create_index('ix_tickets_unanswered_due', 'tickets', ['due_at', 'id'], unique=False,
                    sqlite_where=sa.text('first_response_at IS NULL'),
                    postgresql_where=sa.text('first_response_at IS NULL'))
    op.create_index('ix_tickets_resolution_due', 'tickets', ['resolution_due_at', 'id'], unique=False,
                    sqlite_where=sa.text('resolution_due_at IS NOT NULL'),
                    postgresql_where=sa.text('resolution_due_at IS NOT NULL'))

    # What each ticket's priority was paid, net of refunds (time entries excluded), from the ledger.
    op.execute(
        "UPDATE tickets SET paid_credits = COALESCE(("
        " SELECT -SUM(l.amount) FROM ledger_entries l WHERE l.ticket_id = tickets.id"
        " AND l.kind IN ('charge', 'refund') AND l.idempotency_key NOT LIKE 'time:%'), 0)"
    )
    # The at-risk instant of open tickets: 75 % of the way from creation to the due time.
    op.execute(
        "UPDATE tickets SET response_warn_at = created_at + (due_at - created_at) * 0.75"
        if op.get_bind().dialect.name == 'postgresql' else
        "UPDATE tickets SET response_warn_at = datetime(julianday(created_at)"
        " + (julianday(due_at) - julianday(created_at)) * 0.75)"
    )
    # A round-the-clock default calendar: nothing moves until an admin sets the desk's hours.
    op.execute(
        "INSERT INTO business_calendars (category_id, timezone, always_open, updated_at)"
        " VALUES (NULL, 'UTC', true, CURRENT_TIMESTAMP)"
    )


def downgrade():
    op.drop_index('ix_tickets_resolution_due', table_name='tickets')
    op.drop_index('ix_tickets_unanswered_due', table_name='tickets')
    for name in ('paid_credits', 'resolution_paused_minutes', *(n for n, _t in TICKET_COLUMNS)):
        op.drop_column('tickets', name)
    for name in ('resolution_refund_percent', 'business_hours', 'resolution_minutes'):
        op.drop_column('priorities', name)
    op.drop_table('calendar_closures')
    op.drop_index(op.f('ix_calendar_intervals_calendar_id'), table_name='calendar_intervals')
    op.drop_table('calendar_intervals')
    op.drop_table('business_calendars')
