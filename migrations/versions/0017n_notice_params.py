"""notices keep what they tell as a kind and its details, read in the reader's language

A notice's text used to be written once, in English. Its details (names, addresses, the
organization and user type) are kept beside it, so Notifications and the daily email word
it in the language of whoever reads it; rows from before keep their text.

Revision ID: 0017n_notice_params
Revises: 0017c_user_counts
Create Date: 2026-11-30 15:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017n_notice_params'
down_revision = '0017c_user_counts'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('notice', sa.Column('params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notice') as batch:
        batch.drop_column('params')
