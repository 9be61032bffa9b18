"""organizations in name order across kinds, for MANAGE → Users sorted by organization

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:00:00

"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: a batch rebuild of a SQLite table drops its triggers (0003).
    op.create_index(
        'ix_partner_organization_sponsor_name',
        'partner_organization',
        ['sponsor_id', 'name_key', 'id'],
        unique=False,
    )
    # Fresh statistics: without them SQLite may prefer the new index for every query
    # on the table (it did: a covering index with no statistics looked cheapest).
    op.execute('ANALYZE partner_organization')


def downgrade():
    op.drop_index('ix_partner_organization_sponsor_name', table_name='partner_organization')
