"""What Alembic compares between the models and the database (autogenerate, the drift check)."""

from __future__ import annotations

from . import search

# Indexes on an expression: Alembic cannot compare them (SQLite's are not reflected and
# PostgreSQL gives them back rewritten), so it leaves them alone; tests/test_app.py checks
# them apart, and the plans that need them are tested where they are read.
EXPRESSION_INDEXES = frozenset({"ix_invitation_validity"})


def include_name(name, type_, parent_names) -> bool:
    """Alembic's filter: the search index (search.include_name) and EXPRESSION_INDEXES."""
    if type_ == "index" and name in EXPRESSION_INDEXES:
        return False
    return search.include_name(name, type_, parent_names)


def include_object(object_, name, type_, reflected, compare_to) -> bool:
    """The same for what the models declare: EXPRESSION_INDEXES are left alone."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)
