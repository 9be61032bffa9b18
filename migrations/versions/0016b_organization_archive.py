"""organizations can be archived (and restored)

Revision ID: 0016b2
Revises: 0016b
Create Date: 2026-11-30 10:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016b2'
down_revision = '0016b'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'partner_organization',
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    )


def downgrade():
    with op.batch_alter_table('partner_organization') as batch:
        batch.drop_column('archived_at')
