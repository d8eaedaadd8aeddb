"""Category and organization names: unique ignoring case in the database too.

The services refused "it" next to "IT" already; two requests racing each other, or rows written
outside the app, could still store both. A unique index on lower(name) now refuses them, on
SQLite and PostgreSQL alike. Upgrading stops with the offending names if some already clash.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

INDEXES = {"categories": "uq_categories_lower_name", "organizations": "uq_organizations_lower_name"}


def upgrade():
    bind = op.get_bind()
    for table, index in INDEXES.items():
        clashes = bind.execute(
            sa.text(f"SELECT lower(name) FROM {table} GROUP BY lower(name) HAVING count(*) > 1")
        ).scalars().all()
        if clashes:
            raise RuntimeError(
                f"{table} has names that differ only by case: {', '.join(sorted(clashes))}. "
                "Rename one of each pair in the admin pages, then upgrade again."
            )
        op.create_index(index, table, [sa.text("lower(name)")], unique=True)


def downgrade():
    for table, index in INDEXES.items():
        op.drop_index(index, table_name=table)
