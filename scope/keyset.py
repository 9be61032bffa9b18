"""Keyset paging: a page starts after (or ends before) a row named by its sort values.

OFFSET reads and throws away every row before the page, so page 4,000 of a million rows
read 100,000 index entries; a keyset page reads the index from the row it starts at, the
same few entries at any depth. A cursor is that row's sort values and id, encoded in the
URL (Next, Previous and a refresh of the page carry it), so a page survives rows inserted
and deleted before it: no row is skipped or shown twice.

An order is one or more segments, each read from one index in order: a sort on a column
that may be empty (email, last login, organization) has a segment of the rows that have a
value and then one of those that have none (empty values last whichever the direction),
each walked by a plain index scan on both databases instead of a NULLS LAST sort.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_, union_all

from .text import key_length

# A cursor's text keys are at most the longest key a column holds (a person's name key); a
# cursor has room for two of them in the widest letters (4 bytes each in UTF-8), in base64.
_MAX_TEXT = key_length(210)
MAX_CURSOR = 4 * -(-(2 * 4 * _MAX_TEXT + 64) // 3)


@dataclass(frozen=True)
class Segment:
    """Rows read in one order from one statement: `source` selects their ids (with its
    joins and WHERE terms); `keys` order them, id last. `present` is a column that has a
    value in this segment's rows and every earlier segment's, and none in the next
    segment's (None for the last segment)."""

    source: Select
    keys: tuple
    present: Any = None


@dataclass(frozen=True)
class Order:
    segments: tuple[Segment, ...]
    descending: bool = False

    def segment_of(self, values: dict) -> int:
        """Which segment a row belongs to, from its values keyed by column: the one after
        the last segment whose `present` it lacks."""
        for index in range(len(self.segments) - 2, -1, -1):
            present = self.segments[index].present
            if present is not None and values[present] is None:
                return index + 1
        return 0

    def columns(self) -> list:
        """Every key column of every segment and what tells the segments apart, once:
        what a row needs for its cursor."""
        seen: dict = {}
        for segment in self.segments:
            for key in (*segment.keys, segment.present):
                if key is not None:
                    seen.setdefault(key, None)
        return list(seen)


@dataclass(frozen=True)
class Bound:
    """Where a walk starts: a segment and the values of its keys (all of them, or only the
    first for a jump to a letter); `inclusive` keeps the row with these values."""

    segment: int
    values: tuple
    inclusive: bool = False


def cursor_of(order: Order, values: dict) -> str:
    """The URL text naming one row's place in the order."""
    index = order.segment_of(values)
    keys = order.segments[index].keys
    data = [index, *(_plain(values[key]) for key in keys)]
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_cursor(order: Order, text: str | None, inclusive: bool = False) -> Bound | None:
    """A cursor read back, or None when it is not one this order made (then: first page)."""
    if not text or len(text) > MAX_CURSOR:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw.decode())
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, list) or not data or type(data[0]) is not int:
        return None
    index = data[0]
    if not 0 <= index < len(order.segments):
        return None
    keys = order.segments[index].keys
    if len(data) != len(keys) + 1:
        return None
    values = []
    for key, value in zip(keys, data[1:], strict=True):
        value = _typed(key, value)
        if value is None:
            return None
        values.append(value)
    return Bound(index, tuple(values), inclusive)


def python_type(key) -> type | None:
    """The Python type of a key's values (a decorated type's own, e.g. UTC datetimes)."""
    try:
        return getattr(key.type, "impl_instance", key.type).python_type
    except NotImplementedError:
        return None


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _typed(key, value):
    """A cursor value as the key column's Python type, or None when it cannot be one."""
    kind = python_type(key)
    if kind is None:
        return None
    try:
        if kind is int:
            return value if type(value) is int and abs(value) < 2**63 else None
        # PostgreSQL text cannot hold NUL: a cursor with one was not made here.
        if not isinstance(value, str) or len(value) > _MAX_TEXT or "\x00" in value:
            return None
        if kind is datetime:  # stored times are UTC: one without a zone was not made here
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo is not None else None
        if issubclass(kind, enum.Enum):
            return kind(value)
        return value if kind is str else None
    except ValueError:
        return None


def walk(
    order: Order,
    bound: Bound | None = None,
    backward: bool = False,
    offset: int = 0,
    limit: int = 25,
) -> Select:
    """The ids of `limit` rows in display order (or its reverse, walking back), starting
    past `bound` (or at the first row) and `offset` rows further.

    Each segment the walk reaches is one statement limited to the rows it can need, so it
    keeps its own index order; UNION ALL appends them in the order given (both databases
    do; tests/test_listing.py checks it)."""
    segments = list(enumerate(order.segments))
    if backward:
        segments.reverse()
    ascending = order.descending == backward
    parts = []
    for index, segment in segments:
        stmt = segment.source
        if bound is not None:
            if (index < bound.segment) != backward and index != bound.segment:
                continue  # a segment the walk has left behind
            if index == bound.segment:
                stmt = stmt.where(_past(segment.keys, bound, ascending))
        keys = [key.asc() if ascending else key.desc() for key in segment.keys]
        parts.append(stmt.order_by(*keys).limit(offset + limit))
    if len(parts) == 1:
        return parts[0].limit(limit).offset(offset or None)
    rows = union_all(*(select(part.subquery()) for part in parts)).subquery()
    return select(rows.c[0]).limit(limit).offset(offset or None)


def _past(keys: Sequence, bound: Bound, ascending: bool) -> ColumnElement:
    """Rows after the bound in walk order: a row-value comparison, which both databases
    answer with a range of the index that holds these keys in this order."""
    columns = keys[: len(bound.values)]
    values = [literal(value, key.type) for key, value in zip(columns, bound.values, strict=True)]
    if len(columns) == 1:
        left, right = columns[0], values[0]
    else:
        left, right = tuple_(*columns), tuple_(*values)
    if ascending:
        return left >= right if bound.inclusive else left > right
    return left <= right if bound.inclusive else left < right


def before_count(order: Order, bound: Bound) -> Select:
    """How many rows come before the bound in display order (a letter jump's position)."""
    parts = []
    for index, segment in enumerate(order.segments[: bound.segment + 1]):
        stmt = segment.source
        if index == bound.segment:
            flipped = Bound(bound.segment, bound.values, not bound.inclusive)
            stmt = stmt.where(_past(segment.keys, flipped, order.descending))
        parts.append(stmt)
    counted = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return select(func.count()).select_from(counted)


def letter_bound(order: Order, letter: str) -> Bound | None:
    """The first row (in display order) whose first sort column reaches the letter: from
    "m" up, or from "n" down when descending. None when the order's first column is not
    text (type, status, last login)."""
    keys = order.segments[0].keys
    if len(keys) < 2 or python_type(keys[0]) is not str:
        return None
    letter = letter.lower()
    if order.descending:
        return Bound(0, (chr(ord(letter) + 1),), inclusive=False)
    return Bound(0, (letter,), inclusive=True)
