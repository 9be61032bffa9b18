"""search index for users' names and emails on SQLite

SQLite has no index that answers LIKE '%word%', so a search for a rare word read every
user of the sponsor. An FTS5 table with the trigram tokenizer over user_account's
name_key and email (external content: it stores only the index) finds them at once;
triggers keep it in step with every insert, update and delete. PostgreSQL has its trigram
GIN index from 0002 and needs none of this. Where SQLite was built without FTS5 or is
older than 3.34 (no trigram tokenizer), nothing is created and search keeps using LIKE
(scope/search.py checks for the table).

Batch migrations recreate a SQLite table and drop its triggers: a later migration that
alters user_account in batch mode must create these triggers again (SEARCH_TRIGGERS).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

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


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    try:
        op.execute(
            "CREATE VIRTUAL TABLE user_search USING fts5("
            "name_key, email, content='user_account', content_rowid='id', tokenize='trigram')"
        )
    except sa.exc.OperationalError:
        return  # no FTS5 or no trigram tokenizer in this SQLite: search stays on LIKE
    for trigger in SEARCH_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO user_search(user_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name in ('user_search_insert', 'user_search_delete', 'user_search_update'):
        op.execute(f'DROP TRIGGER IF EXISTS {name}')
    op.execute('DROP TABLE IF EXISTS user_search')
