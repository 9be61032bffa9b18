"""users by last login, ties by name, read from the index in order

MANAGE → Users sorted by Last login orders by (last_login_at, name_key, id); the index
lacked name_key, so every request sorted the sponsor's users (10 ms at 100,000 on SQLite).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:30:00

"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: a batch rebuild of a SQLite table drops its triggers (0003).
    op.drop_index('ix_user_account_sponsor_login', table_name='user_account')
    op.create_index(
        'ix_user_account_sponsor_login',
        'user_account',
        ['sponsor_id', 'last_login_at', 'name_key', 'id'],
        unique=False,
    )
    # Fresh statistics: without them SQLite may prefer the new index for every query
    # on the table (it did: a covering index with no statistics looked cheapest).
    op.execute('ANALYZE user_account')


def downgrade():
    op.drop_index('ix_user_account_sponsor_login', table_name='user_account')
    op.create_index(
        'ix_user_account_sponsor_login', 'user_account', ['sponsor_id', 'last_login_at', 'id']
    )
