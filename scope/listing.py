"""Search, sort and paging parameters read from the URL, shared by every table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import request
from flask_babel import format_number, gettext
from sqlalchemy import Select, func, select

from .extensions import db
from .text import clean_line

PAGE_SIZES = (10, 25, 50, 100)
# Rows counted past the current page: "1–25 of 1,000+" instead of counting 100,000 rows
# on every keystroke.
COUNT_AHEAD = 1000
# A search counts fewer: a common word is found by walking the rows in display order until
# the page and its count are full, and a search's reader wants the first results, not a
# total ("1–25 of 250+").
SEARCH_COUNT_AHEAD = 250


@dataclass
class Listing:
    q: str = ""
    sort: str = ""
    direction: str = "asc"
    page: int = 1
    page_size: int = 25
    total: int = 0
    # True when total is a lower bound: more rows exist than were counted.
    capped: bool = False
    items: list[Any] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(
        cls,
        sorts: tuple[str, ...],
        default_sort: str,
        filters: tuple[str, ...] = (),
        args: Mapping[str, str] | None = None,
    ) -> Listing:
        """Unknown or malformed values fall back to defaults: a URL never causes an error.

        `args` replaces the request's query (a "select all N matching" form carries the
        query of the listing it was ticked on)."""
        args = request.args if args is None else args
        sort = args.get("sort", default_sort)
        direction = args.get("dir", "asc")
        return cls(
            q=clean_line(args.get("q", ""))[:200],
            sort=sort if sort in sorts else default_sort,
            direction=direction if direction in ("asc", "desc") else "asc",
            page=_positive_int(args.get("page"), 1, 1_000_000),
            page_size=_page_size(args.get("size")),
            filters={
                name: clean_line(args.get(name, ""))[:100] for name in filters if args.get(name)
            },
        )

    @property
    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"sort": self.sort, "dir": self.direction, "page": self.page}
        if self.q:
            params["q"] = self.q
        if self.page_size != 25:
            params["size"] = self.page_size
        params.update(self.filters)
        return params

    @property
    def query(self) -> str:
        """The search and filters as a query string (what "select all N matching" selects)."""
        return urlencode({"q": self.q, **self.filters} if self.q else self.filters)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.capped or self.page < self.pages

    @property
    def summary(self) -> str:
        if not self.total:
            return gettext("No results")
        first = (self.page - 1) * self.page_size + 1
        last = min(self.total, self.page * self.page_size)
        numbers = {
            "first": format_number(first),
            "last": format_number(last),
            "total": format_number(self.total),
        }
        if self.capped:
            return gettext("%(first)s–%(last)s of %(total)s+", **numbers)
        return gettext("%(first)s–%(last)s of %(total)s", **numbers)

    @property
    def count_ahead(self) -> int:
        """How many rows past this page's first the summary counts before it says "N+"."""
        return max(SEARCH_COUNT_AHEAD if self.q else COUNT_AHEAD, self.page_size)

    def fetch(
        self, stmt: Select, order_by: list, scalars: bool = True, ids: Select | None = None
    ) -> Listing:
        """Count (up to count_ahead rows past this page) and fetch one page of stmt.

        Two statements whatever the depth. The first walks the ids in order once, from this
        page's first row to count_ahead rows past it, and returns only this page's ids with
        the number it walked (so an index that holds the filter and the sort answers it and
        a rare search scans once, not once to count and again to page). The second loads
        the page's rows by id. A page past the end shows the last page.

        `ids` replaces the id walk where another query yields the same order from indexes
        (ids in display order, one column).
        """
        key = _primary_key(stmt)
        if ids is None:
            ids = stmt.with_only_columns(key).order_by(*order_by)
        page_ids, ahead = self._page_ids(ids)
        if not page_ids and self.page > 1:
            # Past the end: count what there is (fewer rows than this page starts at).
            offset = (self.page - 1) * self.page_size
            counted = ids.order_by(None).limit(offset).subquery()
            total = db.session.scalar(select(func.count()).select_from(counted))
            self.page = max(1, -(-total // self.page_size))
            page_ids, ahead = self._page_ids(ids)
        offset = (self.page - 1) * self.page_size
        self._count(offset + ahead, offset + self.count_ahead + 1)
        if not page_ids:
            self.items = []
            return self
        result = db.session.execute(stmt.where(key.in_(page_ids)).order_by(*order_by))
        self.items = list(result.scalars() if scalars else result)
        return self

    def _page_ids(self, ids: Select) -> tuple[list, int]:
        """This page's ids, and how many rows there are from its first, up to count_ahead + 1."""
        offset = (self.page - 1) * self.page_size
        walked = ids.limit(self.count_ahead + 1).offset(offset).subquery()
        # The window counts every walked row; the outer LIMIT keeps the first page_size of
        # them in the order the subquery produced (neither database reorders a plain scan
        # for an empty OVER ()). tests/test_listing.py checks the order on both databases.
        rows = db.session.execute(
            select(walked.c[0], func.count().over()).limit(self.page_size)
        ).all()
        return [row[0] for row in rows], (rows[0][1] if rows else 0)

    def _count(self, counted: int, cap: int) -> None:
        self.capped = counted >= cap
        self.total = cap - 1 if self.capped else counted


def _primary_key(stmt: Select):
    """The id of the model the statement selects (cheap: nothing is compiled)."""
    return stmt.column_descriptions[0]["entity"].id


def _positive_int(value: str | None, default: int, maximum: int) -> int:
    try:
        number = int(value or default)
    except ValueError:
        return default
    return min(max(number, 1), maximum)


def _page_size(value: str | None) -> int:
    try:
        size = int(value or 25)
    except ValueError:
        return 25
    return size if size in PAGE_SIZES else 25
