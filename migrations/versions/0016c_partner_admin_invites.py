"""partner administrators may invite people to their own organization

Two switches per sponsor, off by default: whether its partner administrators invite people
to their own organization, and whether they may invite other administrators.

Revision ID: 0016c_b
Revises: 0016c
Create Date: 2026-11-30 10:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016c_b'
down_revision = '0016c'
branch_labels = None
depends_on = None


def upgrade():
    for name in ('partner_admins_invite', 'partner_admins_invite_admins'):
        op.add_column(
            'sponsor', sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table('sponsor') as batch:
        batch.drop_column('partner_admins_invite_admins')
        batch.drop_column('partner_admins_invite')
