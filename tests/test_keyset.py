"""Keyset paging of MANAGE → Users: Next and Previous walk every row once, in order.

Rows are added and deleted between the pages; a walk by Next (then back by Previous) must
still show each row at most once, in the table's order, and every row that was there all
along. The order is computed here in Python from the rows' values (the reference), so
the cursors, their row-value comparisons and the segments for empty values are checked
against the product's rule, not against themselves. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from scope.extensions import db
from scope.models import OrganizationKind, PartnerOrganization, User, UserStatus, UserType
from scope.text import name_key
from tests.helpers import elements, text_of

FIRST = ["Ana", "Bo", "Mia"]
LAST = ["Garcia", "Garcia-Marquez", "Marquez", "Lee", "Zed"]
TYPES = [UserType.MENTOR, UserType.SUPERVISOR, UserType.ADMINISTRATOR]
STATUSES = list(UserStatus)
ORGS = ["Acme", "Acme", "Zeta"]  # two of the same name: the organization id breaks the tie
SORTS = ["name", "email", "type", "status", "last_login", "organization"]
LISTINGS = ["", "status=active", "type=mentor", "q=mar", "q=a", "q=garcia+a"]


@dataclass(frozen=True)
class Row:
    id: int
    name_key: str
    email: str | None
    user_type: str
    status: str
    org: tuple[str, int] | None
    login: datetime | None


person = st.tuples(
    st.sampled_from(FIRST),
    st.sampled_from(LAST),
    st.booleans(),  # has an email
    st.sampled_from(TYPES),
    st.sampled_from(STATUSES),
    st.one_of(st.none(), st.integers(0, len(ORGS) - 1)),
    st.one_of(st.none(), st.integers(1, 3)),  # last login: day of January
)
# Between two pages: people added, and positions (modulo) of people deleted.
edit = st.tuples(st.lists(person, max_size=3), st.lists(st.integers(0, 999), max_size=3))


def shown_ids(html: str) -> list[int]:
    return [int(row.get("id").removeprefix("user-")) for row in elements(html, 'tr[id^="user-"]')]


def link(html: str, rel: str) -> str | None:
    found = elements(html, f'a[rel="{rel}"]')
    return found[0].get("href") if found else None


class People:
    """The sponsor's users as the test made them, deleted ones included (the reference)."""

    def __init__(self, app, sponsor_id: int, orgs: list[int]):
        self.app, self.sponsor_id, self.orgs = app, sponsor_id, orgs
        self.rows: dict[int, Row] = {}
        self.alive: set[int] = set()
        self.counter = 0

    def reset(self, staff_id: int) -> None:
        with self.app.app_context():
            db.session.execute(
                delete(User).where(User.sponsor_id == self.sponsor_id, User.id != staff_id)
            )
            db.session.commit()
            orgs = {
                o.id: (o.name_key, o.id) for o in db.session.scalars(select(PartnerOrganization))
            }
            staff = db.session.get(User, staff_id)
            self.rows = {staff_id: self._row(staff, orgs)}
        self.alive = {staff_id}
        self.staff_id = staff_id

    def _row(self, user: User, orgs: dict) -> Row:
        return Row(
            user.id,
            user.name_key,
            user.email,
            user.user_type.value,
            user.status.value,
            orgs.get(user.partner_organization_id),
            user.last_login_at,
        )

    def add(self, people) -> None:
        with self.app.app_context():
            orgs = {o: (name_key(ORGS[i]), o) for i, o in enumerate(self.orgs)}
            for first, last, has_email, user_type, status, org, day in people:
                self.counter += 1
                user = User(
                    sponsor_id=self.sponsor_id,
                    email=f"{first}.{last}{self.counter}@x.test".lower() if has_email else None,
                    first_name=first,
                    last_name=last,
                    user_type=user_type,
                    status=status,
                    partner_organization_id=None if org is None else self.orgs[org],
                    last_login_at=None if day is None else datetime(2026, 1, day, tzinfo=UTC),
                )
                db.session.add(user)
                db.session.flush()
                self.rows[user.id] = self._row(user, orgs)
                self.alive.add(user.id)
            db.session.commit()

    def delete(self, positions) -> set[int]:
        others = sorted(self.alive - {self.staff_id})
        gone = {others[p % len(others)] for p in positions} if others else set()
        if gone:
            with self.app.app_context():
                db.session.execute(delete(User).where(User.id.in_(gone)))
                db.session.commit()
        self.alive -= gone
        return gone


def matches(row: Row, listing: str) -> bool:
    if listing.startswith("status="):
        return row.status == listing.removeprefix("status=")
    if listing.startswith("type="):
        return row.user_type == listing.removeprefix("type=")
    if listing.startswith("q="):
        words = listing.removeprefix("q=").split("+")
        return all(w in row.name_key or w in (row.email or "") for w in words)
    return True


def tier(row: Row, listing: str) -> int:
    """0 when every word starts a word of the name or email (the best matches)."""
    words = listing.removeprefix("q=").split("+")
    return int(
        not all(
            re.search(r"(^|[ -])" + re.escape(w), row.name_key)
            or re.search(r"(^|[.@_+-])" + re.escape(w), row.email or "")
            for w in words
        )
    )


def reference(rows, sort: str, descending: bool, listing: str) -> list[int]:
    """The table's order: empty values last whichever the direction, ties by id."""
    lead = {
        "email": lambda r: r.email,
        "last_login": lambda r: r.login,
        "organization": lambda r: r.org,
    }.get(sort, lambda r: "")
    ranked = listing.startswith("q=") and sort == "name" and not descending
    keys = {
        "name": lambda r: (tier(r, listing), r.name_key, r.id) if ranked else (r.name_key, r.id),
        "email": lambda r: (r.email, r.id),
        "type": lambda r: (r.user_type, r.name_key, r.id),
        "status": lambda r: (r.status, r.name_key, r.id),
        "last_login": lambda r: (r.login, r.name_key, r.id),
        "organization": lambda r: (*r.org, r.name_key, r.id),
    }
    rows = [r for r in rows if matches(r, listing)]
    full = sorted((r for r in rows if lead(r) is not None), key=keys[sort], reverse=descending)
    empty = sorted(
        (r for r in rows if lead(r) is None),
        key=lambda r: (r.id,) if sort == "email" else (r.name_key, r.id),
        reverse=descending,
    )
    return [r.id for r in full + empty]


@pytest.fixture
def people(app, staff, make_org):
    kinds = [OrganizationKind.EMPLOYER, OrganizationKind.PROVIDER, OrganizationKind.EMPLOYER]
    orgs = [make_org(staff.sponsor_id, name, kind) for name, kind in zip(ORGS, kinds, strict=True)]
    return People(app, staff.sponsor_id, orgs)


def walk(staff, people, url, rel, edits, listing):
    """Follow `rel` links from url, editing the rows between pages. Returns the pages, the
    rows that should have been seen (there from the first page to the end), the last page."""
    present = {i for i in people.alive if matches(people.rows[i], listing)}
    deleted: set[int] = set()
    pages: list[list[int]] = []
    html = ""
    for step in range(40):
        html = staff.get(url, htmx=True).get_data(as_text=True)
        pages.append(shown_ids(html))
        added, positions = edits[step % len(edits)] if edits else ([], [])
        people.add(added)
        deleted |= people.delete(positions)
        url = link(html, rel)
        if url is None:
            break
    return pages, present - deleted, html


def check(pages, expected_rows, order, back=False):
    """Pages in display order: no row twice, rows in the order, none of `expected` missing.

    A walk that finds nothing left past its cursor (every row there deleted) shows the last
    page again, or walking back the first: that page alone may repeat rows."""
    end = 0 if back else -1
    others = {i for n, page in enumerate(pages) if n != end % len(pages) for i in page}
    if len(pages) > 1 and pages[end] and set(pages[end]) <= others:
        pages = pages[1:] if back else pages[:-1]
    seen = [i for page in pages for i in page]
    assert len(seen) == len(set(seen)), "a row was shown twice"
    position = {row: n for n, row in enumerate(order)}
    places = [position[i] for i in seen]
    assert places == sorted(places), "rows out of order"
    assert expected_rows <= set(seen), "a row was skipped"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    start=st.lists(person, min_size=15, max_size=30),
    sort=st.sampled_from(SORTS),
    descending=st.booleans(),
    listing=st.sampled_from(LISTINGS),
    edits=st.lists(edit, min_size=1, max_size=6),
)
def test_next_then_previous_show_every_row_once_in_order(
    staff, people, start, sort, descending, listing, edits
):
    people.reset(staff.user_id)
    people.add(start)
    direction = "desc" if descending else "asc"
    url = f"/manage/users?sort={sort}&dir={direction}&size=10&{listing}"
    forward, expected, last_html = walk(staff, people, url, "next", edits, listing)
    order = reference(people.rows.values(), sort, descending, listing)
    check(forward, expected, order)

    # Back from the last page, with more rows added and deleted on the way: every row that
    # was there all along before the last page's first is seen.
    back_start = link(last_html, "prev")
    if back_start is None or not forward[-1]:
        return
    before = {i for i in people.alive if matches(people.rows[i], listing)}
    backward, kept, _ = walk(staff, people, back_start, "prev", edits[::-1], listing)
    order = reference(people.rows.values(), sort, descending, listing)
    position = {row: n for n, row in enumerate(order)}
    expected = {i for i in kept & before if position[i] < position[forward[-1][0]]}
    check([*backward[::-1], forward[-1]], expected, order, back=True)


def cursor(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        "after=x",
        "after=%25%25",
        "before=" + "A" * 5000,
        "after=" + cursor("[]"),
        "after=" + cursor("{}"),
        "after=" + cursor('[9, "a", 1]'),
        "after=" + cursor("[0, 5, 1]"),
        "after=" + cursor('[0, "a", "b"]'),
        "after=" + cursor('[0, "a", 1, 2]'),
        "after=" + cursor('[0, "a", 99999999999999999999]'),
        "after=" + cursor('[true, "a", 1]'),
        "after="
        + cursor("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
        "sort=last_login&before=" + cursor('[0, "yesterday", "a", 1]'),
        "sort=type&after=" + cursor('[0, "wizard", "a", 1]'),
        "sort=organization&at=" + cursor('[1, "\\u0000", 1]'),
        "letter=%C3%91",
        "letter=mm",
        "row=abc",
    ],
)
def test_a_cursor_that_is_not_one_shows_the_first_page(staff, people, query):
    people.reset(staff.user_id)
    people.add(
        [
            (f, last, True, UserType.MENTOR, UserStatus.ACTIVE, None, None)
            for f in FIRST
            for last in LAST
        ]
    )
    sort = "&".join(part for part in query.split("&") if part.startswith("sort="))
    first = shown_ids(staff.get(f"/manage/users?size=10&{sort}", htmx=True).get_data(as_text=True))
    response = staff.get(f"/manage/users?size=10&{query}", htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert shown_ids(html) == first, query
    assert text_of(html, ".pager-summary").startswith("1–10 of")
