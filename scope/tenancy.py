"""The one way to read tenant data: every query is scoped to the current sponsor."""

from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from .extensions import db

M = TypeVar("M")

MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


def parse_id(value) -> int | None:
    """A row id from outside (URL, form, token), or None when it cannot be one.

    Only ASCII digits count: str.isdigit() also accepts "²", which int() refuses, and a
    number past what an id column holds makes the database refuse the query instead of
    matching nothing.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def current_sponsor_id() -> int:
    if not current_user.is_authenticated:
        abort(401)
    return current_user.sponsor_id


def scoped(model: type[M], *columns) -> Select:
    """SELECT from a tenant-owned model, limited to the current sponsor's rows."""
    stmt = select(*columns) if columns else select(model)
    return stmt.where(model.sponsor_id == current_sponsor_id())


def get_or_404(model: type[M], ident, lock: bool = False) -> M:
    """A tenant-owned row by id; another sponsor's row is as absent as a missing one.

    With lock, the row is held for the transaction (read after any change being committed):
    for actions that change it.
    """
    ident = parse_id(ident)
    if ident is None:
        abort(404)
    stmt = scoped(model).where(model.id == ident)
    obj = db.session.scalar(stmt.with_for_update(of=model) if lock else stmt)
    if obj is None:
        abort(404)
    return obj
