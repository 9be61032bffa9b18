"""invitation reminders, expiry notices, staff notices and their daily digest

Revision ID: 0016b
Revises: 0016l
Create Date: 2026-11-30 10:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016b'
down_revision = '0016l'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'sponsor',
        sa.Column(
            'invitation_reminders', sa.Boolean(), nullable=False, server_default=sa.text('true')
        ),
    )
    op.add_column(
        'invitation',
        sa.Column('reminder_count', sa.Integer(), nullable=False, server_default=sa.text('0')),
    )
    op.add_column('invitation', sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('invitation', sa.Column('expiry_noticed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_invitation_reminder_due', 'invitation', ['state', 'reminder_count', 'sent_at']
    )
    op.create_index('ix_invitation_expiry_notice', 'invitation', ['state', 'expires_at'])
    # Not in batch mode: a rebuild of user_account drops its search triggers (0003).
    op.add_column(
        'user_account',
        sa.Column('notice_digest', sa.Boolean(), nullable=False, server_default=sa.text('false')),
    )
    op.add_column('user_account', sa.Column('notice_digest_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_user_account_notice_digest', 'user_account', ['notice_digest', 'notice_digest_at']
    )
    op.create_table(
        'notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sponsor_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['sponsor_id'], ['sponsor.id'], name=op.f('fk_notice_sponsor_id_sponsor'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user_account.id'], name=op.f('fk_notice_user_id_user_account'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['invitation_id'], ['invitation.id'],
            name=op.f('fk_notice_invitation_id_invitation'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['account_id'], ['user_account.id'], name=op.f('fk_notice_account_id_user_account'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    )
    op.create_index('ix_notice_unread', 'notice', ['user_id', 'read_at', 'id'])


def downgrade():
    op.drop_index('ix_notice_unread', table_name='notice')
    op.drop_table('notice')
    op.drop_index('ix_invitation_expiry_notice', table_name='invitation')
    op.drop_index('ix_invitation_reminder_due', table_name='invitation')
    with op.batch_alter_table('invitation') as batch:
        batch.drop_column('expiry_noticed_at')
        batch.drop_column('reminded_at')
        batch.drop_column('reminder_count')
    with op.batch_alter_table('sponsor') as batch:
        batch.drop_column('invitation_reminders')
    op.drop_index('ix_user_account_notice_digest', table_name='user_account')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('notice_digest_at')
        batch.drop_column('notice_digest')
    _restore_search_triggers()


def _restore_search_triggers():
    """A batch rebuild of user_account on SQLite drops its search triggers: 0015a's again."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name('0015a_time_zones.py')
    spec = importlib.util.spec_from_file_location('_time_zones_revision', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._restore_search_triggers()
