"""name keys as long as case folding can make them: three times their names

Revision ID: 0018_wider_name_keys
Revises: 0017t_wizard_sent_batches
Create Date: 2026-12-02 14:00:00

"ß" folds to "ss" and "ﬃ" to "ffi": a name of 200 characters accepted by a form could make
a key longer than its column, which PostgreSQL refused. Widening a varchar rewrites neither
the table nor its indexes on PostgreSQL. SQLite holds no column to its declared length and
stores the same bytes either way, so there only the declaration changes, by the procedure
SQLite documents for changes that leave what is stored as it is (lang_altertable.html,
"Making Other Kinds Of Table Schema Changes"): copying user_account, as a batch migration
does, would drop its triggers and its expression indexes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_wider_name_keys"
down_revision = "0017t_wizard_sent_batches"
branch_labels = None
depends_on = None

# table: (old length, new length) of its name_key
WIDER = {
    "occupation": (200, 600),
    "partner_organization": (200, 600),
    "user_account": (210, 630),
    "user_mark": (210, 630),
}


def _alter(lengths: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, sizes in WIDER.items():
            _declare_sqlite(table, sizes[1 - lengths], sizes[lengths])
        return
    for table, sizes in WIDER.items():
        op.alter_column(
            table,
            "name_key",
            type_=sa.String(length=sizes[lengths]),
            existing_type=sa.String(length=sizes[1 - lengths]),
            existing_nullable=False,
        )


def _declare_sqlite(table: str, old: int, new: int) -> None:
    conn = op.get_bind()
    found = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?"
    sql = conn.exec_driver_sql(found, (table,)).scalar()
    before, after = f"name_key VARCHAR({old}) NOT NULL", f"name_key VARCHAR({new}) NOT NULL"
    if sql.count(before) != 1:
        raise RuntimeError(f"{table}: expected one {before!r} in {sql!r}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        (sql.replace(before, after), table),
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    _alter(1)


def downgrade():
    # A key longer than the narrower column would stop PostgreSQL midway: say which first.
    conn = op.get_bind()
    for table, (old, _new) in WIDER.items():
        longer = conn.exec_driver_sql(
            f"SELECT count(*) FROM {table} WHERE length(name_key) > {old}"
        ).scalar()
        if longer:
            raise RuntimeError(
                f"{table}: {longer} name keys are longer than {old} characters; rename those "
                "rows before downgrading below 0018_wider_name_keys."
            )
    _alter(0)
