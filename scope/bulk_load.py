"""Loading many rows at once: COPY on PostgreSQL, batched INSERT on SQLite (seed-demo), and
the many rows of one action in one statement (`insert_many`).

A million users with their indexes in place spent most of their load updating nine
indexes row by row (the trigram GIN index above all). For a large load on PostgreSQL the
secondary indexes of the tables being filled are dropped and built again from their own
definitions after the rows are in (one sorted pass each), in the same transaction: the
schema afterwards is exactly what the migrations made, and a failed load leaves it as it
was. Constraints (primary keys, unique constraints) and triggers stay in place throughout.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Enum, String, bindparam, cast, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from .extensions import db

# Below this many rows keeping the indexes is as fast as building them again.
REBUILD_INDEXES_FROM = 200_000

_SECONDARY_INDEXES = text(
    """
    SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE i.indrelid = CAST(:table AS regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
    ORDER BY c.relname
    """
)


def insert_rows(model, rows: list[dict]) -> None:
    """Insert many rows of one model in the session's transaction.

    PostgreSQL: one COPY ... FROM STDIN per call (psycopg 3's cursor.copy()), several times
    faster than INSERT. SQLite: one prepared INSERT run for every row (executemany, in
    the one transaction), as fast as SQLite inserts.
    """
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(model), rows)
        return
    columns = list(rows[0])
    names = ", ".join(connection.dialect.identifier_preparer.quote(c) for c in columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {model.__table__.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_plain(row[c]) for c in columns])


def insert_many(model, rows: list[dict], *, returning: bool = False) -> list:
    """Insert the rows of one action (a SEND's invitations and audit events) in the session's
    transaction; with `returning`, the inserted records, in no given order.

    A row's missing keys take the column's default; a key given as None is NULL on PostgreSQL
    (SQLite may still apply the default), so leave out what should default.

    On PostgreSQL the rows that share their keys go as one array a column, unnested by the
    database: a multi-row VALUES has a parameter a value (15,000 for 1,000 invitations),
    which psycopg converts in Python, and that took 80–200 ms of CPU a SEND where the arrays
    take under 40. SQLite: SQLAlchemy's multi-row INSERT. (Long values cost more as array
    elements: the 1,000 emails of a SEND took 54 ms this way against 35 as an INSERT run for
    each row, and stay one.)
    """
    if not rows:
        return []
    if db.session.connection().dialect.name != "postgresql":
        statement = insert(model).returning(model) if returning else insert(model)
        result = db.session.execute(statement, rows)
        return list(result.scalars()) if returning else []
    shapes: dict[tuple, list[dict]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    inserted = []
    for keys, shape in shapes.items():
        statement = _unnested(model, keys, shape)
        if returning:
            inserted.extend(db.session.scalars(statement.returning(model)))
        else:
            db.session.execute(statement)
    return inserted


def _unnested(model, keys: tuple, rows: list[dict]):
    """INSERT INTO t (keys) SELECT * FROM unnest(CAST(:k AS type[]), …): one array a key."""
    columns = model.__table__.c
    arrays = []
    for key in keys:
        array = _array_of(columns[key].type)
        arrays.append(cast(bindparam(f"array_{key}", [row[key] for row in rows], array), array))
    source = func.unnest(*arrays).table_valued(*keys).render_derived()
    return insert(model).from_select(list(keys), select(*source.c))


def _array_of(column_type) -> ARRAY:
    """Strings go as text of any length: the column's own limit then refuses a value too long
    for it, where a cast to VARCHAR(n)[] would cut it short without a word. (An Enum's values
    are its own, and it turns its members into them.)"""
    plain = isinstance(column_type, String) and not isinstance(column_type, Enum)
    return ARRAY(String() if plain else column_type)


def _plain(value):
    return value.value if isinstance(value, enum.Enum) else value


@contextmanager
def indexes_built_after(models: Iterable, rows: int) -> Iterator[None]:
    """On PostgreSQL, for a load of `rows` or more: drop the secondary indexes of the models'
    tables, and create them again, from their own definitions, when the block is done."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or rows < REBUILD_INDEXES_FROM:
        yield
        return
    saved = []
    for model in models:
        found = connection.execute(_SECONDARY_INDEXES, {"table": model.__table__.name}).all()
        saved.extend(found)
    for name, _definition in saved:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    # More memory than the default 64 MB: each index is sorted in one pass.
    connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for _name, definition in saved:
        connection.exec_driver_sql(definition)


def analyze() -> None:
    """Fresh statistics (and, on PostgreSQL, a visibility map for index-only scans).

    Without them the planners guess on the just-inserted rows.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
