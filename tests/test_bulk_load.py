"""seed-demo's bulk load: the schema afterwards is the one the migrations made."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text

import scope.bulk_load
from scope.extensions import db
from scope.invites.reminders import queue_due_reminders
from scope.models import Invitation, User, UserCount
from scope.notices.services import queue_expiry_notices

_POSTGRES_SCHEMA = """
    SELECT 'index', tablename || '.' || indexname, indexdef FROM pg_indexes
    WHERE schemaname = 'public'
    UNION ALL
    SELECT 'trigger', tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(oid)
    FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    ORDER BY 1, 2
"""


def schema() -> list[tuple]:
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return [tuple(row) for row in conn.execute(text(_POSTGRES_SCHEMA))]
        rows = conn.execute(text("SELECT type, name, sql FROM sqlite_master ORDER BY type, name"))
        return [tuple(row) for row in rows]


@pytest.mark.real_commits  # seed-demo analyzes on a connection of its own
def test_a_large_load_leaves_indexes_triggers_and_constraints_as_they_were(
    app, runner, monkeypatch
):
    monkeypatch.setattr(scope.bulk_load, "REBUILD_INDEXES_FROM", 100)
    with app.app_context():
        before = schema()
        statements = []
        record = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            result = runner.invoke(
                args=["seed-demo", "--users", "300", "--invitations", "40", "--orgs", "7"]
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert result.exit_code == 0, result.output
        dropped = [s for s in statements if s.startswith("DROP INDEX")]
        if db.engine.dialect.name == "postgresql":
            # The indexes were dropped for the load, and built again as they were.
            assert any('"ix_user_account_search"' in s for s in dropped)
            assert any('"ix_invitation_listing"' in s for s in dropped)
        else:
            assert dropped == []  # SQLite keeps its indexes
        assert schema() == before
        # The counts the triggers kept during the load are the users'.
        users = db.session.scalar(select(func.count()).select_from(User))
        kept = db.session.scalar(
            select(func.sum(UserCount.count)).where(UserCount.dimension == "all")
        )
        assert users == kept == 301
        db.session.remove()


@pytest.mark.real_commits  # seed-demo analyzes on a connection of its own
def test_a_seeded_demo_has_no_backlog_of_reminders_or_expiry_notices(app, runner):
    """Invitations sent up to a month ago carry the reminders and the expiry notice a
    running mail worker would have made: the first web process has none to catch up on."""
    args = ["seed-demo", "--users", "5", "--invitations", "400", "--orgs", "3"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    with app.app_context():
        reminded = db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.reminder_count > 0)
        )
        assert reminded > 100  # most were sent more than 3 days ago
        assert queue_due_reminders() == 0
        assert queue_expiry_notices() == 0
        db.session.remove()
