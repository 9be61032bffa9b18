"""page marks: one sponsor's marks are made under that sponsor's lock, not the whole table's

make_marks() locked user_account against every write while it made one sponsor's marks
(3.4 s at a million users), so every sponsor's logins, sign-ups and edits waited for it.
Now each statement that changes users first takes a shared advisory lock for each sponsor
whose users it changed (in sponsor order, held to the end of its transaction), before the
mark triggers read that sponsor's marks; make_marks() takes the sponsor's lock exclusively
before anything else. So the marks are made between the sponsor's writers, as before, and
other sponsors' writers never wait. These triggers are named to fire before the mark
triggers (PostgreSQL fires a table's AFTER triggers by name). SQLite has one writer.

Revision ID: 0017s_user_mark_lock
Revises: 0017r_invitation_expiry_index
Create Date: 2026-12-01 03:00:00

"""

from alembic import op

revision = "0017s_user_mark_lock"
down_revision = "0017r_invitation_expiry_index"
branch_labels = None
depends_on = None

# scope.manage.marks.MARK_LOCK: the advisory lock's first key; the second is the sponsor.
MARK_LOCK = 17_019

_LOCK = """
    PERFORM pg_advisory_xact_lock_shared({lock}, s.sponsor_id)
    FROM (SELECT DISTINCT sponsor_id FROM ({rows}) AS r ORDER BY sponsor_id) AS s;
"""

FUNCTIONS = {
    "user_mark_a_lock_insert": _LOCK.format(
        lock=MARK_LOCK, rows="SELECT sponsor_id FROM new_users"
    ),
    "user_mark_a_lock_update": _LOCK.format(
        lock=MARK_LOCK,
        rows="SELECT sponsor_id FROM old_users UNION SELECT sponsor_id FROM new_users",
    ),
    "user_mark_a_lock_delete": _LOCK.format(
        lock=MARK_LOCK, rows="SELECT sponsor_id FROM old_users"
    ),
}

TRIGGERS = {
    "user_mark_a_lock_insert": "AFTER INSERT ON user_account REFERENCING NEW TABLE AS new_users",
    "user_mark_a_lock_update": (
        "AFTER UPDATE ON user_account REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users"
    ),
    "user_mark_a_lock_delete": "AFTER DELETE ON user_account REFERENCING OLD TABLE AS old_users",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} {TRIGGERS[name]} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON user_account")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
