"""page marks: where any page of MANAGE → Users in name order starts, kept exact by triggers

A typed page number, or a jump to a letter, needed the number of users before it: page
20,000 of a million users read 500,000 index entries (190 ms on PostgreSQL). A sponsor with
many users has marks instead: every 5,000th user's name key and id (user_mark), taken when
the marks are made (scope/manage/marks.py), and how many users lie between each mark and the
next, in all and per status and type (user_mark_count). The counts are kept by triggers on
user_account in the transaction that changes the users, as user_count is (0017c), so the
users before any mark are a sum of a few hundred exact counts, and a page is reached by
reading at most one mark's span of the index.

A user belongs to the last mark at or before its (name_key, id), compared by the database
itself, so the marks follow whatever collation the index has. Marks are only boundaries:
the user a mark was taken from may be renamed or deleted, and its mark stays where it was.

PostgreSQL: statement-level triggers with transition tables, changes applied in key order
(after user_count's triggers, which PostgreSQL fires first by name), doing nothing while no
sponsor has marks. SQLite: row-level triggers. A later migration that rebuilds user_account
in batch mode must create SQLITE_TRIGGERS again.

Revision ID: 0017q_user_marks
Revises: 0017p_keyset_indexes
Create Date: 2026-11-30 16:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017q_user_marks"
down_revision = "0017p_keyset_indexes"
branch_labels = None
depends_on = None

# The counts one user row belongs to: its mark, and (dimension, value).
_PG_KEYS = """
    SELECT r.sponsor_id, m.n, k.dimension, k.value, {sign} AS c
    FROM {rows} AS r
    CROSS JOIN LATERAL (
        SELECT um.n FROM user_mark AS um
        WHERE um.sponsor_id = r.sponsor_id
          AND (um.name_key, um.user_id) <= (r.name_key, r.id)
        ORDER BY um.name_key DESC, um.user_id DESC LIMIT 1) AS m
    CROSS JOIN LATERAL (VALUES ('all', ''), ('status', r.status), ('type', r.user_type))
        AS k(dimension, value)
"""

_PG_APPLY = """
    IF EXISTS (SELECT 1 FROM user_mark) THEN
    INSERT INTO user_mark_count AS c (sponsor_id, n, dimension, value, count)
    SELECT sponsor_id, n, dimension, value, sum(c) FROM ({changes}) AS changes
    GROUP BY sponsor_id, n, dimension, value HAVING sum(c) <> 0
    ORDER BY sponsor_id, n, dimension, value
    ON CONFLICT (sponsor_id, n, dimension, value) DO UPDATE SET count = c.count + excluded.count;
    END IF;
"""

PG_FUNCTIONS = {
    "user_mark_insert": _PG_APPLY.format(changes=_PG_KEYS.format(sign=1, rows="new_users")),
    "user_mark_update": _PG_APPLY.format(
        changes=_PG_KEYS.format(sign=-1, rows="old_users")
        + " UNION ALL "
        + _PG_KEYS.format(sign=1, rows="new_users")
    ),
    # A deleted user's counts exist (its insert, or the marks' making, made them): UPDATE,
    # never a new row, so a sponsor deleted with its users leaves nothing behind.
    "user_mark_delete": """
    IF EXISTS (SELECT 1 FROM user_mark) THEN
    WITH changes AS (
        SELECT sponsor_id, n, dimension, value, sum(c) AS c FROM ({changes}) AS changes
        GROUP BY sponsor_id, n, dimension, value
    ), locked AS MATERIALIZED (
        SELECT mc.sponsor_id, mc.n, mc.dimension, mc.value FROM user_mark_count AS mc
        JOIN changes USING (sponsor_id, n, dimension, value)
        ORDER BY mc.sponsor_id, mc.n, mc.dimension, mc.value FOR UPDATE OF mc
    )
    UPDATE user_mark_count AS mc SET count = mc.count + changes.c FROM changes, locked
    WHERE (mc.sponsor_id, mc.n, mc.dimension, mc.value)
            = (changes.sponsor_id, changes.n, changes.dimension, changes.value)
      AND (locked.sponsor_id, locked.n, locked.dimension, locked.value)
            = (changes.sponsor_id, changes.n, changes.dimension, changes.value);
    END IF;
    """.format(changes=_PG_KEYS.format(sign=-1, rows="old_users")),
}

PG_TRIGGERS = {
    "user_mark_insert": "AFTER INSERT ON user_account REFERENCING NEW TABLE AS new_users",
    "user_mark_update": (
        "AFTER UPDATE ON user_account REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users"
    ),
    "user_mark_delete": "AFTER DELETE ON user_account REFERENCING OLD TABLE AS old_users",
}

_SQLITE_MARK = """(SELECT n FROM user_mark WHERE sponsor_id = {r}.sponsor_id
    AND (name_key, user_id) <= ({r}.name_key, {r}.id)
    ORDER BY name_key DESC, user_id DESC LIMIT 1)"""
_SQLITE_ADD = f"""
    INSERT INTO user_mark_count (sponsor_id, n, dimension, value, count)
    SELECT new.sponsor_id, m.n, k.dimension, k.value, 1
    FROM (SELECT {_SQLITE_MARK.format(r="new")} AS n) AS m,
         (SELECT 'all' AS dimension, '' AS value
          UNION ALL SELECT 'status', new.status UNION ALL SELECT 'type', new.user_type) AS k
    WHERE m.n IS NOT NULL
    ON CONFLICT (sponsor_id, n, dimension, value) DO UPDATE SET count = count + 1;
"""
_SQLITE_REMOVE = f"""
    UPDATE user_mark_count SET count = count - 1
    WHERE sponsor_id = old.sponsor_id AND n = {_SQLITE_MARK.format(r="old")} AND (
        (dimension = 'all' AND value = '')
        OR (dimension = 'status' AND value = old.status)
        OR (dimension = 'type' AND value = old.user_type));
"""
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER user_mark_insert AFTER INSERT ON user_account BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER user_mark_delete AFTER DELETE ON user_account BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER user_mark_update AFTER UPDATE OF sponsor_id, name_key, status, user_type "
    f"ON user_account BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
)


def upgrade():
    op.create_table(
        "user_mark",
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("name_key", sa.String(length=210), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sponsor_id"],
            ["sponsor.id"],
            name=op.f("fk_user_mark_sponsor_id_sponsor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sponsor_id", "n", name=op.f("pk_user_mark")),
    )
    op.create_index("ix_user_mark_key", "user_mark", ["sponsor_id", "name_key", "user_id"])
    op.create_table(
        "user_mark_count",
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sponsor_id"],
            ["sponsor.id"],
            name=op.f("fk_user_mark_count_sponsor_id_sponsor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "sponsor_id", "n", "dimension", "value", name=op.f("pk_user_mark_count")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, body in PG_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body} RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} {PG_TRIGGERS[name]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    # No marks yet: the mail worker's periodic step (or seed-demo) makes them for sponsors
    # with enough users to need them.


def downgrade():
    bind = op.get_bind()
    for name in PG_TRIGGERS:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON user_account")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("user_mark_count")
    op.drop_index("ix_user_mark_key", table_name="user_mark")
    op.drop_table("user_mark")
