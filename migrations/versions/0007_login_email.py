"""an address is unique within a sponsor, and across sponsors only as a login

The installation-wide unique email let any sponsor's staff learn whether another sponsor
had a record of an address (a managed record included), from the refusal. Now one sponsor
holds an address once (sponsor_id, email), and an address is unique across the
installation only among accounts with a password (a partial unique index), which are the
logins. Another sponsor's managed record of the same person no longer stands in the way.

On SQLite the unique constraint can only go with a rebuild of the table, which drops the
search index's triggers (0003): they are created again and the index rebuilt.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LOGIN = sa.text('password_hash IS NOT NULL')
# As created by 0003.
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


def _sqlite_search_index(bind) -> bool:
    return bind.dialect.name == 'sqlite' and sa.inspect(bind).has_table('user_search')


def _restore_search_triggers(bind) -> None:
    if not _sqlite_search_index(bind):
        return
    for name in ('user_search_insert', 'user_search_delete', 'user_search_update'):
        op.execute(f'DROP TRIGGER IF EXISTS {name}')
    for trigger in SEARCH_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO user_search(user_search) VALUES ('rebuild')")


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('user_account') as batch:
        batch.drop_constraint('uq_user_account_email', type_='unique')
        batch.create_unique_constraint('uq_user_account_sponsor_id_email', ['sponsor_id', 'email'])
    op.create_index(
        'uq_user_account_login_email',
        'user_account',
        ['email'],
        unique=True,
        sqlite_where=LOGIN,
        postgresql_where=LOGIN,
    )
    _restore_search_triggers(bind)
    op.execute('ANALYZE user_account')


def downgrade():
    bind = op.get_bind()
    op.drop_index('uq_user_account_login_email', table_name='user_account')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_constraint('uq_user_account_sponsor_id_email', type_='unique')
        batch.create_unique_constraint('uq_user_account_email', ['email'])
    _restore_search_triggers(bind)
