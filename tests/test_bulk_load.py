"""seed-demo's bulk load: the schema afterwards is the one the migrations made; an action's
many rows (insert_many): written as given, in a few parameters on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

import scope.bulk_load
from scope.bulk_load import insert_many
from scope.extensions import db
from scope.invites.reminders import queue_due_reminders
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    User,
    UserCount,
    UserType,
    utcnow,
)
from scope.notices.services import queue_expiry_notices
from tests.helpers import needs_postgres

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


def _invitation(sponsor_id: int, n: int, **values) -> dict:
    now = utcnow()
    row = {
        "sponsor_id": sponsor_id,
        "email": f"many{n}@bulk.example",
        "pending_email": f"many{n}@bulk.example",
        "user_type": UserType.MENTOR if n % 2 else UserType.SUPERVISOR,
        "state": InvitationState.PENDING,
        "nonce": f"nonce-{n}",
        "sent_at": now,
        "expires_at": now + timedelta(days=n),
        "message": None,
    }
    return {**row, **values}


def test_insert_many_writes_each_row_as_given_and_a_missing_key_takes_its_default(
    app, make_sponsor
):
    sponsor_id = make_sponsor("Many rows")
    rows = [_invitation(sponsor_id, n, language="es") for n in range(5)]
    rows.append(_invitation(sponsor_id, 5, message="Hola \\ «amigos» \"{x}\", 'y'"))
    with app.app_context():
        inserted = insert_many(Invitation, rows, returning=True)
        assert sorted(i.email for i in inserted) == sorted(r["email"] for r in rows)
        db.session.commit()
        db.session.expunge_all()
        saved = db.session.scalars(
            select(Invitation).where(Invitation.sponsor_id == sponsor_id).order_by(Invitation.id)
        ).all()
        by_email = {i.email: i for i in saved}
        for row in rows:
            invitation = by_email[row["email"]]
            for key, value in row.items():
                assert getattr(invitation, key) == value, key
        # Not given: the column's default (Python's or the database's).
        assert by_email["many5@bulk.example"].language == "en"
        assert {i.reminder_count for i in saved} == {0}
        assert all(i.created_at is not None for i in saved)

        details = [{"email": i.email, "note": "a'\"\\{}[]", "n": n} for n, i in enumerate(saved)]
        events = [
            {
                "sponsor_id": sponsor_id,
                "action": "invited",
                "subject_type": "invitation",
                "subject_id": i.id,
                "details": d,
            }
            for i, d in zip(saved, details, strict=True)
        ]
        assert insert_many(AuditEvent, events) == []
        read = db.session.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.sponsor_id == sponsor_id)
            .order_by(AuditEvent.subject_id)
        ).all()
        assert read == details
        assert insert_many(AuditEvent, []) == []
        db.session.remove()


@needs_postgres
def test_on_postgresql_the_rows_go_as_one_array_a_column(app, make_sponsor):
    """A multi-row VALUES sends a parameter a value, each converted by psycopg in Python
    (15,000 for a SEND of 1,000); the arrays send one a column, however many rows."""
    sponsor_id = make_sponsor("Arrays")
    rows = [_invitation(sponsor_id, n) for n in range(300)]
    with app.app_context():
        engine = db.engine
        sent = []

        def before(conn, cursor, statement, parameters, context, executemany):
            sent.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", before)
        try:
            inserted = insert_many(Invitation, rows, returning=True)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        [(statement, parameters)] = [(s, p) for s, p in sent if s.startswith("INSERT")]
        assert "unnest" in statement
        assert len(parameters) <= len(Invitation.__table__.c)  # a value at most a column
        assert len(inserted) == 300
        db.session.rollback()


@needs_postgres
def test_a_value_too_long_for_its_column_is_refused_not_cut_short(app, make_sponsor):
    sponsor_id = make_sponsor("Too long")
    rows = [_invitation(sponsor_id, 1), _invitation(sponsor_id, 2, nonce="n" * 65)]
    with app.app_context():
        with pytest.raises(DBAPIError, match="too long"):
            insert_many(Invitation, rows)
        db.session.rollback()
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Invitation)
                .where(Invitation.sponsor_id == sponsor_id)
            )
            == 0
        )
