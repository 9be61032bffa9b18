"""exact user counts: in all and per status, type and organization, kept by triggers

MANAGE → Users said "1,000+" because counting a sponsor's users on every request reads
them all (100,000 index entries, 6 ms; a million, 60 ms). user_count holds the counts
instead, changed by triggers on user_account in the same transaction as the users, so a
count is exact as soon as the change commits and a rolled-back change leaves it as it was.

PostgreSQL: statement-level triggers with transition tables, so a bulk UPDATE of 1,000
users changes each affected count once, and the counts are locked in key order (two
writers touching the same counts wait for each other instead of deadlocking). SQLite
(one writer at a time) has row-level triggers.

Batch migrations recreate a SQLite table and drop its triggers: a later migration that
alters user_account in batch mode must create these triggers again (SQLITE_TRIGGERS).

Revision ID: 0017c_user_counts
Revises: 0017e
Create Date: 2026-11-30 13:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017c_user_counts"
down_revision = "0017e"
branch_labels = None
depends_on = None

# The counts one user row belongs to, as (dimension, value); a user without an
# organization (staff) counts in no organization.
_PG_KEYS = """
    SELECT r.sponsor_id, k.dimension, k.value, {sign} AS n
    FROM {rows} AS r CROSS JOIN LATERAL (VALUES
        ('all', ''), ('status', r.status), ('type', r.user_type),
        ('organization', r.partner_organization_id::text)) AS k(dimension, value)
    WHERE k.value IS NOT NULL
"""

# Changes, summed per count, applied in key order (the order the rows are locked in).
_PG_APPLY = """
    INSERT INTO user_count AS c (sponsor_id, dimension, value, count)
    SELECT sponsor_id, dimension, value, sum(n) FROM ({changes}) AS changes
    GROUP BY sponsor_id, dimension, value HAVING sum(n) <> 0
    ORDER BY sponsor_id, dimension, value
    ON CONFLICT (sponsor_id, dimension, value) DO UPDATE SET count = c.count + excluded.count;
"""

PG_FUNCTIONS = {
    "user_count_insert": _PG_APPLY.format(changes=_PG_KEYS.format(sign=1, rows="new_users")),
    "user_count_update": _PG_APPLY.format(
        changes=_PG_KEYS.format(sign=-1, rows="old_users")
        + " UNION ALL "
        + _PG_KEYS.format(sign=1, rows="new_users")
    ),
    # A deleted user's counts exist (its insert made them): UPDATE, never a new row, so
    # emptying user_count before user_account leaves nothing behind.
    "user_count_delete": """
    WITH changes AS (
        SELECT sponsor_id, dimension, value, sum(n) AS n FROM ({changes}) AS changes
        GROUP BY sponsor_id, dimension, value
    ), locked AS MATERIALIZED (
        SELECT c.sponsor_id, c.dimension, c.value FROM user_count AS c
        JOIN changes USING (sponsor_id, dimension, value)
        ORDER BY c.sponsor_id, c.dimension, c.value FOR UPDATE OF c
    )
    UPDATE user_count AS c SET count = c.count + changes.n FROM changes, locked
    WHERE (c.sponsor_id, c.dimension, c.value) = (changes.sponsor_id, changes.dimension,
                                                  changes.value)
      AND (locked.sponsor_id, locked.dimension, locked.value) = (changes.sponsor_id,
                                                  changes.dimension, changes.value);
    """.format(changes=_PG_KEYS.format(sign=-1, rows="old_users")),
}

PG_TRIGGERS = {
    "user_count_insert": "AFTER INSERT ON user_account REFERENCING NEW TABLE AS new_users",
    "user_count_update": (
        "AFTER UPDATE ON user_account REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users"
    ),
    "user_count_delete": "AFTER DELETE ON user_account REFERENCING OLD TABLE AS old_users",
}

_SQLITE_ADD = """
    INSERT INTO user_count (sponsor_id, dimension, value, count)
    SELECT new.sponsor_id, 'all', '', 1
    UNION ALL SELECT new.sponsor_id, 'status', new.status, 1
    UNION ALL SELECT new.sponsor_id, 'type', new.user_type, 1
    UNION ALL SELECT new.sponsor_id, 'organization', CAST(new.partner_organization_id AS TEXT), 1
    WHERE new.partner_organization_id IS NOT NULL
    ON CONFLICT (sponsor_id, dimension, value) DO UPDATE SET count = count + 1;
"""
_SQLITE_REMOVE = """
    UPDATE user_count SET count = count - 1 WHERE sponsor_id = old.sponsor_id AND (
        (dimension = 'all' AND value = '')
        OR (dimension = 'status' AND value = old.status)
        OR (dimension = 'type' AND value = old.user_type)
        OR (dimension = 'organization' AND value = CAST(old.partner_organization_id AS TEXT)));
"""
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER user_count_insert AFTER INSERT ON user_account BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER user_count_delete AFTER DELETE ON user_account BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER user_count_update AFTER UPDATE OF sponsor_id, status, user_type, "
    "partner_organization_id ON user_account BEGIN "
    f"{_SQLITE_REMOVE} {_SQLITE_ADD} END",
)

# Every count from the users themselves (the backfill, and seed-demo after a bulk load).
BACKFILL = """
    INSERT INTO user_count (sponsor_id, dimension, value, count)
    SELECT sponsor_id, 'all', '', count(*) FROM user_account {where} GROUP BY sponsor_id
    UNION ALL SELECT sponsor_id, 'status', status, count(*) FROM user_account {where}
        GROUP BY sponsor_id, status
    UNION ALL SELECT sponsor_id, 'type', user_type, count(*) FROM user_account {where}
        GROUP BY sponsor_id, user_type
    UNION ALL SELECT sponsor_id, 'organization', CAST(partner_organization_id AS TEXT), count(*)
        FROM user_account WHERE partner_organization_id IS NOT NULL {and_where}
        GROUP BY sponsor_id, partner_organization_id
"""


def upgrade():
    op.create_table(
        "user_count",
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sponsor_id"],
            ["sponsor.id"],
            name=op.f("fk_user_count_sponsor_id_sponsor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sponsor_id", "dimension", "value", name=op.f("pk_user_count")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # No user may change between the backfill and the triggers taking over.
        op.execute("LOCK TABLE user_account IN SHARE ROW EXCLUSIVE MODE")
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
    op.execute(BACKFILL.format(where="", and_where=""))


def downgrade():
    bind = op.get_bind()
    for name in PG_TRIGGERS:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON user_account")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("user_count")
