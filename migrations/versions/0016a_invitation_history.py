"""invitations keep their history: who revoked one; indexes for the Invitations filters

Accepted and revoked invitations stay listed under their status, so a revoked one names who
revoked it. The filters by organization and by inviter, and the listing of every status in
sent order, each read an index of their own instead of walking every invitation; the
listing index also holds the columns the Status and User type filters read.

Revision ID: 0016a
Revises: 0016c_b
Create Date: 2026-11-30 14:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016a'
down_revision = '0016c_b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitation') as batch:
        batch.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_invitation_revoked_by_id_user_account'),
            'user_account',
            ['revoked_by_id'],
            ['id'],
            ondelete='SET NULL',
        )
    # The listing index also holds what the Status and User type filters read.
    op.drop_index('ix_invitation_listing', table_name='invitation')
    op.create_index(
        'ix_invitation_listing',
        'invitation',
        ['sponsor_id', 'state', 'sent_at', 'expires_at', 'reviewed_at', 'user_type'],
    )
    op.create_index('ix_invitation_sent', 'invitation', ['sponsor_id', 'sent_at'])
    op.create_index(
        'ix_invitation_organization', 'invitation', ['sponsor_id', 'partner_organization_id', 'sent_at']
    )
    op.create_index('ix_invitation_inviter', 'invitation', ['sponsor_id', 'invited_by_id', 'sent_at'])


def downgrade():
    op.drop_index('ix_invitation_inviter', table_name='invitation')
    op.drop_index('ix_invitation_organization', table_name='invitation')
    op.drop_index('ix_invitation_sent', table_name='invitation')
    op.drop_index('ix_invitation_listing', table_name='invitation')
    op.create_index('ix_invitation_listing', 'invitation', ['sponsor_id', 'state', 'sent_at'])
    with op.batch_alter_table('invitation') as batch:
        batch.drop_constraint(op.f('fk_invitation_revoked_by_id_user_account'), type_='foreignkey')
        batch.drop_column('revoked_by_id')
