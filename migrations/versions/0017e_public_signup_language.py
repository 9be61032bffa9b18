"""public sign-ups remember the language of the page they were made on

Their emails (confirmation, approval, decline) are written in it: the person has no account,
so no language of their own, until they confirm.

Revision ID: 0017e
Revises: 0017o_occupation_retire
Create Date: 2026-11-30 13:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017e'
down_revision = '0017o_occupation_retire'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('public_signup', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('public_signup') as batch:
        batch.drop_column('language')
