"""Search, sort and paging parameters read from the URL, shared by every table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import request, url_for
from flask_babel import gettext
from sqlalchemy import Select, func, select

from . import keyset
from .extensions import db
from .templating import format_number
from .text import clean_line

PAGE_SIZES = (10, 25, 50, 100)
# Rows counted past the current page: "1–25 of 1,000+" instead of counting 100,000 rows
# on every keystroke.
COUNT_AHEAD = 1000
# A search counts fewer: a common word is found by walking the rows in display order until
# the page and its count are full, and a search's reader wants the first results, not a
# total ("1–25 of 250+").
SEARCH_COUNT_AHEAD = 250
# The first letters a table can jump to.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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
    # Keyset paging (tables that offer it): the page starts after, ends before, or starts
    # at the row a cursor names, or at the first row whose sort column reaches a letter.
    after: str = ""
    before: str = ""
    at: str = ""
    letter: str = ""
    # The number of the first row shown as the link that led here counted it (1-based).
    row: int = 0
    # Rows before the first one shown, when keyset paging placed the page.
    first: int | None = None
    prev_args: dict[str, Any] = field(default_factory=dict)
    next_args: dict[str, Any] = field(default_factory=dict)
    here_args: dict[str, Any] = field(default_factory=dict)
    # A typed page number that names no page, and why.
    page_typed: str = ""
    page_error: str = ""
    # Whether rows follow this page, when the walk that found it could tell.
    more: bool | None = None
    # A filter picks no row (a typed organization name that names none): the page, its
    # export and its "select all matching" select nobody.
    nobody: bool = False
    # The address of each page this listing's links point to (link()).
    _bases: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

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
        page_typed = clean_line(args.get("page", ""))[:20]
        letter = args.get("letter", "")
        return cls(
            q=clean_line(args.get("q", ""))[:200],
            sort=sort if sort in sorts else default_sort,
            direction=direction if direction in ("asc", "desc") else "asc",
            page=_positive_int(args.get("page"), 1, 1_000_000),
            page_size=_page_size(args.get("size")),
            filters={
                name: clean_line(args.get(name, ""))[:100] for name in filters if args.get(name)
            },
            after=_cursor(args.get("after")),
            before=_cursor(args.get("before")),
            at=_cursor(args.get("at")),
            letter=letter if len(letter) == 1 and letter in LETTERS else "",
            row=_positive_int(args.get("row"), 0, 10**9) if args.get("row") else 0,
            page_typed=page_typed,
            page_error=_page_error(page_typed),
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

    def link(self, endpoint: str, **changes: Any) -> str:
        """url_for(endpoint, **dict(self.params, **changes)), routed once per endpoint: a
        table's sortable headers and pager each link to the same page."""
        base = self._bases.get(endpoint)
        if base is None:
            base = self._bases[endpoint] = url_for(endpoint)
        return self.url(base, **changes)

    def url(self, base: str, **changes: Any) -> str:
        """This listing's address with some parameters changed (None drops one), below `base`
        (its page's url_for, built once): what url_for would build, without routing again for
        each of 26 letters."""
        params = dict(self.params, **changes)
        query = urlencode([(k, v) for k, v in params.items() if v is not None], safe="!$'()*,/:;?@")
        return f"{base}?{query}" if query else base

    def letter_urls(self, base: str) -> list[tuple[str, str]]:
        """The jump to each first letter A–Z: this listing's address from its first page, with
        `letter` added (encoded once, not 26 times)."""
        start = self.url(base, page=None, letter=None)
        start += "&" if "?" in start else "?"
        return [(letter, f"{start}letter={letter}") for letter in LETTERS]

    @property
    def query(self) -> str:
        """The search and filters as a query string (what "select all N matching" selects)."""
        return urlencode({"q": self.q, **self.filters} if self.q else self.filters)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def offset(self) -> int:
        """Rows before the first one shown."""
        return (self.page - 1) * self.page_size if self.first is None else self.first

    @property
    def has_prev(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        if self.more is not None:
            return self.more
        return self.capped or self.offset + len(self.items) < self.total

    @property
    def prev_changes(self) -> dict[str, Any]:
        """What Previous changes in this listing's parameters: a cursor, or the page."""
        return self.prev_args or {"page": self.page - 1}

    @property
    def next_changes(self) -> dict[str, Any]:
        return self.next_args or {"page": self.page + 1}

    @property
    def here_params(self) -> dict[str, Any]:
        """This page again (a refresh after a change): from the same row, not row number."""
        return dict(self.params, **self.here_args)

    @property
    def summary(self) -> str:
        if not self.total:
            return gettext("No results")
        first = self.offset + 1
        last = min(self.total, self.offset + (len(self.items) or self.page_size))
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

    def fetch_keyset(self, order: keyset.Order, rows: Select, places=None) -> Listing:
        """Count and fetch one page of `order` by keyset: the same few index entries read
        at any depth. `rows` selects a page's rows; it is given their ids and selects the
        order's columns after its own (they make the Next and Previous cursors).

        Next walks forward from the cursor, Previous back from it, a letter jumps to the
        first row whose sort column reaches it, and a page number (no cursor) counts rows
        from the first, reading the index alone. Two to four statements, whatever the depth.

        `places` (scope.manage.marks.Places), where the table keeps page marks, tells where
        a page number or a letter lies without counting the rows before it: one statement
        more, and at most one mark's span of the index read.
        """
        bound, backward = self._bound(order)
        page_ids: list = []
        if backward:
            # One row more than a page: whether rows remain before this page. Fewer than a
            # page (rows were deleted) make a short first page: no row is shown twice.
            ids = list(
                db.session.scalars(keyset.walk(order, bound, True, limit=self.page_size + 1))
            )
            page_ids = ids[: self.page_size][::-1]
            if page_ids:
                self.first = max(self.row - 1, 1) if len(ids) > self.page_size else 0
                back = keyset.Bound(bound.segment, bound.values, inclusive=True)
                reach = self.count_ahead + 1 - len(page_ids)
                walked = keyset.walk(order, back, limit=max(reach, 1))
                ahead = len(page_ids) + db.session.scalar(self._counted(walked))
            else:
                bound = None  # nothing left before it: the first page
                self.page = 1
        if not page_ids:
            if bound is None:
                self.first = None
            elif self.letter:
                self.first = self._letter_position(order, bound, places)
            else:
                self.first = max(self.row - 1, 0)
            offset = 0 if bound is not None else self.offset
            if bound is None and offset and places is not None:
                bound, offset = self._place(order, places)
            page_ids, ahead = self._window(
                keyset.walk(order, bound, offset=offset, limit=self.count_ahead + 1)
            )
            if not page_ids and (bound is not None or self.page > 1):
                self._last_page(order, places)
                page_ids, ahead = self._window(
                    keyset.walk(order, None, offset=self.offset, limit=self.count_ahead + 1)
                )
        if self.first is not None:
            self.page = self.first // self.page_size + 1
        self._count(self.offset + ahead, self.offset + self.count_ahead + 1)
        self.more = ahead > len(page_ids)
        self.items = []
        if page_ids:
            self._load(order, rows, page_ids)
        return self

    def _bound(self, order: keyset.Order) -> tuple[keyset.Bound | None, bool]:
        """Where the page starts (or ends, walking back): None for a page number."""
        if self.letter:
            bound = keyset.letter_bound(order, self.letter)
            if bound is not None:
                return bound, False
            self.letter = ""
        if self.before:
            bound = keyset.parse_cursor(order, self.before)
            if bound is not None:
                return bound, True
        for text, inclusive in ((self.after, False), (self.at, True)):
            bound = keyset.parse_cursor(order, text, inclusive)
            if bound is not None:
                return bound, False
        return None, False

    def _letter_position(self, order: keyset.Order, bound: keyset.Bound, places) -> int:
        """Rows before the first one a letter's bound shows."""
        if places is not None and places.load(bound.values[0]):
            return places.before(bound, order.descending)
        return db.session.scalar(keyset.before_count(order, bound))

    def _place(self, order: keyset.Order, places) -> tuple[keyset.Bound | None, int]:
        """Where this page number's walk starts, from the marks (without marks: the rows
        before it are skipped); a page past the end shows the last (places hold the total)."""
        marked = places.load()
        if self.offset >= places.total:
            self._show_last(places.total)
        if not marked or not self.offset:
            return None, self.offset
        return places.start(self.offset, order.descending)

    def _last_page(self, order: keyset.Order, places=None) -> None:
        """A page past the end: count the rows (reading the index alone, unless places
        already read their total) and show the last."""
        if places is not None and places.loaded:
            counted = places.total
        else:
            reach = self.offset if self.first is None else 10**9
            counted = db.session.scalar(self._counted(keyset.walk(order, None, limit=reach)))
        self._show_last(counted)

    def _show_last(self, counted: int) -> None:
        """Show the last page of `counted` rows; a typed page number past it says so."""
        last = max(1, -(-counted // self.page_size))
        if self.first is None and self.page_typed and not self.page_error:
            self.page_error = gettext(
                "There are %(pages)s pages: this is the last.", pages=format_number(last)
            )
        self.page, self.first = last, None

    @staticmethod
    def _counted(walked: Select) -> Select:
        return select(func.count()).select_from(walked.subquery())

    def _load(self, order: keyset.Order, rows: Select, page_ids: list) -> None:
        """The page's rows in walk order, and the cursors of its first and last rows."""
        columns = order.columns()
        key = _primary_key(rows)
        loaded = {
            row[0]: row
            for row in db.session.execute(rows.add_columns(*columns).where(key.in_(page_ids)))
        }
        width = len(columns)
        items = [loaded[i] for i in page_ids if i in loaded]
        if not items:
            return
        keys = [dict(zip(columns, row[-width:], strict=True)) for row in (items[0], items[-1])]
        self.items = [row[:-width] for row in items]
        first = self.offset + 1
        self.prev_args = {
            "page": None,
            "before": keyset.cursor_of(order, keys[0]),
            "row": max(first - self.page_size, 1),
        }
        self.next_args = {
            "page": None,
            "after": keyset.cursor_of(order, keys[1]),
            "row": first + len(items),
        }
        if self.offset:
            self.here_args = {"page": None, "at": keyset.cursor_of(order, keys[0]), "row": first}

    def _page_ids(self, ids: Select) -> tuple[list, int]:
        """This page's ids, and how many rows there are from its first, up to count_ahead + 1."""
        offset = (self.page - 1) * self.page_size
        return self._window(ids.limit(self.count_ahead + 1).offset(offset))

    def _window(self, walked: Select) -> tuple[list, int]:
        """The first page_size ids of a walk, and how many ids it walked."""
        walked = walked.subquery()
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


def _cursor(value: str | None) -> str:
    return value if value and len(value) <= keyset.MAX_CURSOR else ""


def _page_error(typed: str) -> str:
    if not typed:
        return ""
    try:
        number = int(typed)
    except ValueError:
        number = 0
    return "" if number >= 1 else gettext("Enter a page number, such as 2.")


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
