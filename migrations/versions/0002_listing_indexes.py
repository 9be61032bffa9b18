"""indexes for the MANAGE and Partners tables at 100,000 users

Every filter and sort of MANAGE → Users reads its page (and its capped count) from one
index that starts with sponsor_id, then the filtered column, then the sort key and id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 06:00:00

"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # Trigram index for search-as-you-type (substring match on name and email).
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        # email in the name index: a search reads the index alone, never the table rows.
        batch_op.drop_index('ix_user_account_sponsor_name')
        batch_op.create_index('ix_user_account_sponsor_name', ['sponsor_id', 'name_key', 'id', 'email'], unique=False)
        batch_op.create_index('ix_user_account_search', ['name_key', 'email'], unique=False, postgresql_using='gin', postgresql_ops={'name_key': 'gin_trgm_ops', 'email': 'gin_trgm_ops'})
        batch_op.drop_index('ix_user_account_sponsor_org')
        batch_op.create_index('ix_user_account_sponsor_org', ['sponsor_id', 'partner_organization_id', 'name_key', 'id'], unique=False)
        batch_op.create_index('ix_user_account_sponsor_type', ['sponsor_id', 'user_type', 'name_key', 'id'], unique=False)
        batch_op.create_index('ix_user_account_sponsor_status', ['sponsor_id', 'status', 'name_key', 'id'], unique=False)
        batch_op.create_index('ix_user_account_sponsor_email', ['sponsor_id', 'email', 'id'], unique=False)
        batch_op.create_index('ix_user_account_sponsor_login', ['sponsor_id', 'last_login_at', 'id'], unique=False)

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_email', ['sponsor_id', 'state', 'email', 'id'], unique=False)

    with op.batch_alter_table('partner_organization', schema=None) as batch_op:
        batch_op.create_index('ix_partner_organization_city', ['sponsor_id', 'kind', 'city', 'name_key'], unique=False)


def downgrade():
    with op.batch_alter_table('partner_organization', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_organization_city')

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_email')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_sponsor_login')
        batch_op.drop_index('ix_user_account_sponsor_email')
        batch_op.drop_index('ix_user_account_sponsor_status')
        batch_op.drop_index('ix_user_account_sponsor_type')
        batch_op.drop_index('ix_user_account_sponsor_org')
        batch_op.create_index('ix_user_account_sponsor_org', ['sponsor_id', 'partner_organization_id'], unique=False)
        batch_op.drop_index('ix_user_account_search')
        batch_op.drop_index('ix_user_account_sponsor_name')
        batch_op.create_index('ix_user_account_sponsor_name', ['sponsor_id', 'name_key', 'id'], unique=False)
