"""ids never given twice on SQLite: every table with an id keeps a high-water mark

Revision ID: 0019_sqlite_ids_never_reused
Revises: 0018_wider_name_keys
Create Date: 2026-12-02 19:00:00

SQLite gives a new row the largest id plus one, so deleting the row with the largest id hands
its id to the next row, and it checks no foreign keys: whatever still named the deleted row
(a wizard's organization, an account's History) came to name the new one, possibly another
sponsor's. Declared AUTOINCREMENT, a table keeps the largest id it ever gave in
sqlite_sequence and never gives it again (https://sqlite.org/autoinc.html). PostgreSQL's
sequences never give an id twice: nothing changes there.

An INTEGER primary key is the rowid whether it is declared on the column or as the table's
constraint, so only the declaration changes, by the procedure SQLite documents for changes
that leave what is stored as it is (lang_altertable.html, "Making Other Kinds Of Table Schema
Changes"), as 0018 did: copying the tables would drop user_account's triggers and expression
indexes. The declaration becomes what SQLAlchemy writes for a table with
sqlite_autoincrement=True (scope.models.base.never_reuse_ids).
"""

from alembic import op

revision = "0019_sqlite_ids_never_reused"
down_revision = "0018_wider_name_keys"
branch_labels = None
depends_on = None

TABLES = (
    "account_token",
    "audit_event",
    "invitation",
    "mail_message",
    "notice",
    "occupation",
    "partner_organization",
    "public_link",
    "public_signup",
    "sponsor",
    "user_account",
    "wizard_draft",
    "wizard_row",
)
COLUMN = "\n\tid INTEGER NOT NULL, "
AUTOINCREMENT = "\n\tid INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
# How a table's constraints start, after its columns (as SQLAlchemy writes them).
TABLE_CONSTRAINTS = ("CONSTRAINT ", "FOREIGN KEY", "UNIQUE", "CHECK", "PRIMARY KEY")


def _constraint(table: str) -> str:
    return f", \n\tCONSTRAINT pk_{table} PRIMARY KEY (id)"


def _declare(table: str, forward: bool) -> None:
    conn = op.get_bind()
    found = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?"
    sql = conn.exec_driver_sql(found, (table,)).scalar()
    if forward:
        pieces, replacements = (COLUMN, _constraint(table)), (AUTOINCREMENT, "")
    else:
        pieces, replacements = (AUTOINCREMENT,), (COLUMN,)
    for piece, replacement in zip(pieces, replacements, strict=True):
        if sql.count(piece) != 1:
            raise RuntimeError(f"{table}: expected one {piece!r} in {sql!r}")
        sql = sql.replace(piece, replacement)
    if not forward:  # the named constraint goes back after the columns, before the others
        first = min(
            (i for i in (sql.find(", \n\t" + word) for word in TABLE_CONSTRAINTS) if i >= 0),
            default=sql.rindex("\n)"),
        )
        sql = sql[:first] + _constraint(table) + sql[first:]
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table)
    )


def _redeclare(forward: bool) -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    if forward:
        # sqlite_sequence exists once any table is AUTOINCREMENT: made by SQLite itself.
        conn.exec_driver_sql(
            "CREATE TABLE scope_sequence_probe (id INTEGER PRIMARY KEY AUTOINCREMENT)"
        )
        conn.exec_driver_sql("DROP TABLE scope_sequence_probe")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    for table in TABLES:
        _declare(table, forward)
    conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    for table in TABLES:
        conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        if forward:  # the mark starts at the largest id given so far
            conn.exec_driver_sql(
                "INSERT INTO sqlite_sequence (name, seq) "
                f"SELECT ?, coalesce(max(id), 0) FROM {table}",
                (table,),
            )
    problems = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity_check after redeclaring the ids: {problems}")


def upgrade():
    _redeclare(True)


def downgrade():
    _redeclare(False)
