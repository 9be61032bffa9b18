"""a resent invitation's earlier link says that a newer one was sent

Resend now gives the invitation a new link (an expired link must not work again); the
nonce of the link it replaced is kept so that link's page can say a newer email was sent,
rather than that the link is not valid.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('invitation', sa.Column('previous_nonce', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('invitation') as batch:
        batch.drop_column('previous_nonce')
