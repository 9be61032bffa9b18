"""occupations can be retired (and restored)

Revision ID: 0017o_occupation_retire
Revises: 0016a
Create Date: 2026-11-30 13:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017o_occupation_retire'
down_revision = '0016a'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'occupation',
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    )


def downgrade():
    with op.batch_alter_table('occupation') as batch:
        batch.drop_column('retired_at')
