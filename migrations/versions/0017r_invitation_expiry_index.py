"""pending invitations by validity and sent time, for the Expired filter newest first

"Expired" is expires_at <= now, which picks the oldest pending invitations: the Expired
filter, newest first, walked ix_invitation_listing back from the newest invitation past
every one not yet expired (200,000 index entries at 500,000 invitations). An invitation's
validity (expires_at − sent_at, whole seconds) takes few values; within one, the expired
invitations are those sent before now − validity, a range of this index in sent order.

Revision ID: 0017r_invitation_expiry_index
Revises: 0017q_user_marks
Create Date: 2026-11-30 17:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0017r_invitation_expiry_index'
down_revision = '0017q_user_marks'
branch_labels = None
depends_on = None

# scope.models.invitations.validity_seconds, as each database writes it.
VALIDITY = {
    'postgresql': 'CAST(round(extract(epoch FROM expires_at - sent_at)) AS INTEGER)',
    'sqlite': 'CAST(round((julianday(expires_at) - julianday(sent_at)) * 86400) AS INTEGER)',
}


def upgrade():
    validity = VALIDITY[op.get_bind().dialect.name]
    # Not in batch mode: a batch rebuild of a SQLite table drops its triggers (0003).
    op.create_index(
        'ix_invitation_validity',
        'invitation',
        ['sponsor_id', 'state', sa.text(validity), 'sent_at', 'expires_at'],
        unique=False,
    )
    op.execute('ANALYZE invitation')


def downgrade():
    op.drop_index('ix_invitation_validity', table_name='invitation')
