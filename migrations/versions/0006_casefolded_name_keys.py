"""name keys case-folded everywhere, as scope.text.name_key makes them

Occupations created by the seed and CSV checks were keyed with lower() while the Partners
pages keyed with casefold(), so "Maßschneider" created on screen (key "massschneider") was
not found by the CSV check (which looked for "maßschneider"). Every key is recomputed the
one way. Two organizations (or occupations) whose keys now coincide keep the older key for
the second, so that the upgrade never fails on a uniqueness it cannot decide.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:00:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BATCH = 5000


def _key(name):
    # scope.text.name_key as of this revision (a migration keeps its own copy).
    return ' '.join(unicodedata.normalize('NFC', name or '').casefold().split())


def _recompute(bind, table, columns, key_of, group_of):
    """Update name_key where it differs; a key another row of the group holds is left alone."""
    rows = bind.execute(sa.text(f"SELECT id, name_key, {', '.join(columns)} FROM {table}")).all()
    taken = {(group_of(row), row.name_key) for row in rows}
    changes = []
    for row in rows:
        key = key_of(row)
        if key == row.name_key or (group_of(row), key) in taken:
            continue
        taken.add((group_of(row), key))
        changes.append({'id': row.id, 'key': key})
    update = sa.text(f'UPDATE {table} SET name_key = :key WHERE id = :id')
    for start in range(0, len(changes), BATCH):
        bind.execute(update, changes[start : start + BATCH])


def _recompute_people(bind):
    """Users: only rows whose key changes are written (a handful, even among a million)."""
    last_id = 0
    update = sa.text('UPDATE user_account SET name_key = :key WHERE id = :id')
    while True:
        rows = bind.execute(
            sa.text(
                'SELECT id, first_name, last_name, name_key FROM user_account '
                'WHERE id > :last ORDER BY id LIMIT :batch'
            ),
            {'last': last_id, 'batch': BATCH},
        ).all()
        if not rows:
            return
        changes = [
            {'id': row.id, 'key': key}
            for row in rows
            if (key := _key(f'{row.last_name or ""} {row.first_name or ""}')) != row.name_key
        ]
        if changes:
            bind.execute(update, changes)
        last_id = rows[-1].id


def upgrade():
    bind = op.get_bind()
    _recompute(
        bind,
        'occupation',
        ['sponsor_id', 'name'],
        key_of=lambda row: _key(row.name),
        group_of=lambda row: row.sponsor_id,
    )
    _recompute(
        bind,
        'partner_organization',
        ['sponsor_id', 'kind', 'name'],
        key_of=lambda row: _key(row.name),
        group_of=lambda row: (row.sponsor_id, row.kind),
    )
    _recompute_people(bind)


def downgrade():
    # lower() keys sort and compare the same for every name without special cases; the
    # case-folded ones stay valid for the older code, which only ever compared them.
    pass
