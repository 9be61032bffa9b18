"""Search, sort and paging parameters read from the URL, shared by every table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request
from sqlalchemy import Select, func, select

from .extensions import db
from .forms import clean_line

PAGE_SIZES = (10, 25, 50, 100)


@dataclass
class Listing:
    q: str = ""
    sort: str = ""
    direction: str = "asc"
    page: int = 1
    page_size: int = 25
    total: int = 0
    items: list[Any] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(
        cls, sorts: tuple[str, ...], default_sort: str, filters: tuple[str, ...] = ()
    ) -> Listing:
        """Unknown or malformed values fall back to defaults: a URL never causes an error."""
        args = request.args
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
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def summary(self) -> str:
        if not self.total:
            return "No results"
        first = (self.page - 1) * self.page_size + 1
        last = min(self.total, self.page * self.page_size)
        return f"{first}–{last} of {self.total:,}"

    def fetch(self, stmt: Select, order_by: list, scalars: bool = True) -> Listing:
        """Count and fetch one page of stmt; a page past the end shows the last page."""
        self.total = db.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        self.page = min(self.page, self.pages)
        page_stmt = stmt.order_by(*order_by).limit(self.page_size)
        page_stmt = page_stmt.offset((self.page - 1) * self.page_size)
        result = db.session.execute(page_stmt)
        self.items = list(result.scalars() if scalars else result)
        return self


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
