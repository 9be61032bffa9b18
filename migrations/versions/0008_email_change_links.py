"""links that confirm a new login address

Staff changing the address of an account that logs in no longer change it at once: the new
address's owner confirms it from an emailed link (a CHANGE_EMAIL account token, which
carries the new address). So a change to an address that is already someone's login tells
only that mailbox's owner, and a typo cannot take the account away from its person.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _purpose(*values):
    return sa.Enum(
        *values, name='accounttokenpurpose', native_enum=False, create_constraint=True, length=20
    )


CHECK = 'ck_account_token_accounttokenpurpose'


def _allow(*values):
    """The purposes the column's CHECK admits (SQLite: a rebuild; PostgreSQL: a new CHECK)."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('account_token') as batch:
            batch.alter_column('purpose', type_=_purpose(*values), existing_nullable=False)
        return
    op.drop_constraint(op.f(CHECK), 'account_token', type_='check')
    listed = ', '.join(f"'{value}'" for value in values)
    op.create_check_constraint(op.f(CHECK), 'account_token', f'purpose IN ({listed})')


def upgrade():
    op.add_column('account_token', sa.Column('new_email', sa.String(length=254), nullable=True))
    _allow('set_password', 'recovery', 'change_email')


def downgrade():
    op.execute("DELETE FROM account_token WHERE purpose = 'change_email'")
    _allow('set_password', 'recovery')
    with op.batch_alter_table('account_token') as batch:
        batch.drop_column('new_email')
