"""languages: a sponsor's default, a person's own, an invitation's and a batch's

Revision ID: 0016l
Revises: 0015a
Create Date: 2026-11-30 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016l'
down_revision = '0015a'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'sponsor', sa.Column('language', sa.String(length=8), nullable=False, server_default='en')
    )
    # Not in batch mode: a rebuild of user_account drops its search triggers (0003).
    op.add_column('user_account', sa.Column('language', sa.String(length=8), nullable=True))
    op.add_column(
        'invitation',
        sa.Column('language', sa.String(length=8), nullable=False, server_default='en'),
    )
    op.add_column('wizard_draft', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('wizard_draft') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('invitation') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('sponsor') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('language')
    _restore_search_triggers()


# As created by 0003 (a batch rebuild of user_account on SQLite drops them).
SEARCH_TRIGGERS = (
    """CREATE TRIGGER user_search_insert AFTER INSERT ON user_account BEGIN
         INSERT INTO user_search(rowid, name_key, email) VALUES (new.id, new.name_key, new.email);
       END""",
    """CREATE TRIGGER user_search_delete AFTER DELETE ON user_account BEGIN
         INSERT INTO user_search(user_search, rowid, name_key, email)
         VALUES ('delete', old.id, old.name_key, old.email);
       END""",
    """CREATE TRIGGER user_search_update AFTER UPDATE OF name_key, email ON user_account BEGIN
         INSERT INTO user_search(user_search, rowid, name_key, email)
         VALUES ('delete', old.id, old.name_key, old.email);
         INSERT INTO user_search(rowid, name_key, email) VALUES (new.id, new.name_key, new.email);
       END""",
)


def _restore_search_triggers():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' or not sa.inspect(bind).has_table('user_search'):
        return
    for name in ('user_search_insert', 'user_search_delete', 'user_search_update'):
        op.execute(f'DROP TRIGGER IF EXISTS {name}')
    for trigger in SEARCH_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO user_search(user_search) VALUES ('rebuild')")
