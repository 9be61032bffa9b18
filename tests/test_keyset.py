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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from scope.extensions import db
from scope.models import OrganizationKind, PartnerOrganization, User, UserStatus, UserType
from scope.text import name_key
from tests.helpers import elements, text_of, texts

FIRST = ["Ana", "Bo", "Mia"]
LAST = ["Garcia", "Garcia-Marquez", "Marquez", "Lee", "Zed"]
TYPES = [UserType.MENTOR, UserType.SUPERVISOR, UserType.ADMINISTRATOR]
STATUSES = list(UserStatus)
ORGS = ["Acme", "Acme", "Zeta"]  # two of the same name: the organization id breaks the tie
SORTS = ["name", "email", "type", "status", "last_login", "organization"]
LISTINGS = ["", "status=active", "type=mentor", "q=mar", "q=a", "q=garcia+a", "q=garcia+m"]


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
ANA = ("Ana", "Garcia", False, UserType.MENTOR, UserStatus.ACTIVE, None, None)
MARQUEZ = ("Ana", "Marquez", *ANA[2:])
HYPHENATED = ("Ana", "Garcia-Marquez", *ANA[2:])
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
                # A new id, as PostgreSQL's sequence gives: SQLite gives a deleted row's id
                # again when it was the highest, and the reference would take the new row
                # for the one a page showed before.
                user = User(
                    id=max(self.rows) + 1,
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
    """2 when every word starts a word of the name or email (the best matches), 1 when
    besides the name starts with the first word (the best of them), 0 when it starts with
    the whole search (the best of all, for more than one word), 3 for the others."""
    words = listing.removeprefix("q=").split("+")
    best = all(
        re.search(r"(^|[ -])" + re.escape(w), row.name_key)
        or re.search(r"(^|[.@_+-])" + re.escape(w), row.email or "")
        for w in words
    )
    if not best:
        return 3
    if len(words) > 1 and row.name_key.startswith(" ".join(words)):
        return 0
    return 1 if row.name_key.startswith(words[0]) else 2


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
    rows that should have been seen (there from the first page to the end), the last page
    and the rows there were when it was read."""
    present = {i for i in people.alive if matches(people.rows[i], listing)}
    deleted: set[int] = set()
    pages: list[list[int]] = []
    html = ""
    for step in range(40):
        html = staff.get(url, htmx=True).get_data(as_text=True)
        pages.append(shown_ids(html))
        alive = set(people.alive)
        added, positions = edits[step % len(edits)] if edits else ([], [])
        people.add(added)
        deleted |= people.delete(positions)
        url = link(html, rel)
        if url is None:
            break
    return pages, present - deleted, html, alive


def check(pages, expected_rows, order, back=False, alive=None):
    """Pages in display order: no row twice, rows in the order, none of `expected` missing.

    A walk that finds nothing left past its cursor (every row there deleted) shows the last
    page again, or walking back the first: that page alone may repeat rows. It is then the
    table's first (or last) rows as they were when it was read (`alive`), rows added
    meanwhile included."""
    end = 0 if back else -1
    others = {i for n, page in enumerate(pages) if n != end % len(pages) for i in page}
    now = [i for i in order if alive is None or i in alive]
    again = pages[end] and pages[end] == (
        now[: len(pages[end])] if back else now[-len(pages[end]) :]
    )
    if (
        len(pages) > 1
        and pages[end]
        and (set(pages[end]) <= others or again and set(pages[end]) & others)
    ):
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
# The row with the highest id is deleted, then one is added (on SQLite it got that id).
@example(
    start=[ANA] * 15 + [ANA[:-1] + (1,)],
    sort="last_login",
    descending=False,
    listing="",
    edits=[([], [15]), ([ANA], [])],
)
# Walking back, the rows before the cursor are deleted and one is added after it: the first
# page shown again holds the added row.
@example(
    start=[ANA] * 3 + [MARQUEZ] * 2 + [ANA] + [HYPHENATED] * 6 + [ANA] * 8 + [HYPHENATED] * 3,
    sort="name",
    descending=False,
    listing="q=mar",
    edits=[([HYPHENATED], [389])],
)
# Found on PostgreSQL: walking forward by last login through a search, the last page shown
# again holds a row added meanwhile.
@example(
    start=[
        ("Ana", "Garcia-Marquez", True, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia", True, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia-Marquez", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia", True, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Marquez", True, UserType.MENTOR, UserStatus.ACTIVE, None, 1),
        ("Ana", "Garcia", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia-Marquez", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia-Marquez", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia-Marquez", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia", True, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Garcia", True, UserType.MENTOR, UserStatus.ACTIVE, None, 2),
        ("Mia", "Garcia-Marquez", False, UserType.ADMINISTRATOR, UserStatus.MANAGED, 2, 2),
        ("Ana", "Marquez", True, UserType.SUPERVISOR, UserStatus.MANAGED, 1, 1),
        ("Mia", "Zed", True, UserType.SUPERVISOR, UserStatus.ACTIVE, 0, None),
        ("Ana", "Garcia-Marquez", True, UserType.MENTOR, UserStatus.MANAGED, 2, 2),
        ("Mia", "Garcia-Marquez", False, UserType.MENTOR, UserStatus.DEACTIVATED, 2, None),
        ("Bo", "Lee", False, UserType.SUPERVISOR, UserStatus.MANAGED, 1, None),
        ("Mia", "Zed", True, UserType.ADMINISTRATOR, UserStatus.ACTIVE, 0, 3),
        ("Bo", "Garcia", False, UserType.MENTOR, UserStatus.MANAGED, None, None),
        ("Ana", "Lee", False, UserType.ADMINISTRATOR, UserStatus.ACTIVE, None, None),
        ("Ana", "Lee", False, UserType.ADMINISTRATOR, UserStatus.ACTIVE, None, 2),
        ("Ana", "Lee", False, UserType.MENTOR, UserStatus.ACTIVE, None, None),
        ("Bo", "Lee", True, UserType.MENTOR, UserStatus.ACTIVE, 0, None),
        ("Ana", "Lee", True, UserType.MENTOR, UserStatus.MANAGED, None, 2),
        ("Ana", "Garcia", False, UserType.ADMINISTRATOR, UserStatus.ACTIVE, None, None),
        ("Bo", "Garcia", False, UserType.ADMINISTRATOR, UserStatus.MANAGED, None, 3),
        ("Mia", "Marquez", True, UserType.ADMINISTRATOR, UserStatus.MANAGED, None, 2),
    ],
    sort="last_login",
    descending=False,
    listing="q=mar",
    edits=[
        (
            [
                ("Mia", "Lee", True, UserType.ADMINISTRATOR, UserStatus.ACTIVE, 0, 2),
                ("Ana", "Marquez", False, UserType.SUPERVISOR, UserStatus.MANAGED, 0, 1),
                ("Mia", "Zed", True, UserType.MENTOR, UserStatus.ACTIVE, None, None),
            ],
            [0, 315, 791],
        ),
        (
            [
                ("Mia", "Lee", True, UserType.ADMINISTRATOR, UserStatus.MANAGED, 2, 2),
                ("Mia", "Zed", True, UserType.MENTOR, UserStatus.MANAGED, 0, 3),
                ("Mia", "Zed", True, UserType.SUPERVISOR, UserStatus.MANAGED, None, 1),
            ],
            [525, 279],
        ),
        (
            [
                (
                    "Bo",
                    "Garcia-Marquez",
                    False,
                    UserType.SUPERVISOR,
                    UserStatus.DEACTIVATED,
                    2,
                    None,
                ),
                ("Bo", "Garcia", True, UserType.MENTOR, UserStatus.ACTIVE, None, None),
                ("Bo", "Lee", False, UserType.SUPERVISOR, UserStatus.ACTIVE, 2, None),
            ],
            [773],
        ),
        (
            [("Ana", "Garcia-Marquez", True, UserType.SUPERVISOR, UserStatus.DEACTIVATED, 1, 3)],
            [315, 744],
        ),
    ],
)
def test_next_then_previous_show_every_row_once_in_order(
    staff, people, start, sort, descending, listing, edits
):
    people.reset(staff.user_id)
    people.add(start)
    direction = "desc" if descending else "asc"
    url = f"/manage/users?sort={sort}&dir={direction}&size=10&{listing}"
    forward, expected, last_html, alive = walk(staff, people, url, "next", edits, listing)
    order = reference(people.rows.values(), sort, descending, listing)
    check(forward, expected, order, alive=alive)

    # Back from the last page, with more rows added and deleted on the way: every row that
    # was there all along before the last page's first is seen.
    back_start = link(last_html, "prev")
    if back_start is None or not forward[-1]:
        return
    before = {i for i in people.alive if matches(people.rows[i], listing)}
    backward, kept, _, alive = walk(staff, people, back_start, "prev", edits[::-1], listing)
    order = reference(people.rows.values(), sort, descending, listing)
    position = {row: n for n, row in enumerate(order)}
    expected = {i for i in kept & before if position[i] < position[forward[-1][0]]}
    check([*backward[::-1], forward[-1]], expected, order, back=True, alive=alive)


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
        "sort=last_login&after=" + cursor('[0, "2024-01-01T00:00:00", "a", 1]'),
        "sort=last_login&at=" + cursor('[0, "2024-01-01T00:00:00", "a", 1]'),
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


@pytest.mark.parametrize("sort", ["name", "organization"])
def test_next_and_previous_pass_rows_with_the_longest_keys_a_name_makes(
    app, staff, make_org, make_user, sort
):
    """'ß' folds to 'ss' and 'ﬃ' to 'ffi': a page that ends on a row with such a key (up to
    three times its name) still leads on to the next page and back, not to the first."""
    org = make_org(staff.sponsor_id, "ß" * 200)
    ids = [
        make_user(
            f"p{n:02}@x.test",
            sponsor_id=staff.sponsor_id,
            user_type=UserType.SUPERVISOR,
            organization_id=org,
            first_name="ﬃ" * 98 + f"{n:02}",
            last_name="ß" * 100,
        )
        for n in range(12)
    ]
    first = staff.get(f"/manage/users?sort={sort}&size=10", htmx=True).get_data(as_text=True)
    second = staff.get(link(first, "next"), htmx=True).get_data(as_text=True)
    assert sorted(shown_ids(first) + shown_ids(second)) == sorted([staff.user_id, *ids])
    back = staff.get(link(second, "prev"), htmx=True).get_data(as_text=True)
    assert shown_ids(back) == shown_ids(first)


@pytest.fixture
def thirty(staff, people):
    """30 people and the staff member: four pages of 10."""
    people.reset(staff.user_id)
    people.add(
        [
            (first, last, n % 2 == 0, TYPES[n % 3], UserStatus.ACTIVE, n % 3, None)
            for n, (first, last) in enumerate((f, la) for f in FIRST for la in LAST)
        ]
        * 2
    )
    return people


@pytest.mark.parametrize(
    "sort, descending, letter",
    [
        ("name", False, "M"),
        ("name", True, "M"),
        ("name", False, "H"),
        ("name", True, "G"),
        ("email", False, "B"),
        ("email", True, "A"),
        ("organization", False, "Z"),
        ("organization", True, "A"),
    ],
)
def test_a_letter_jumps_to_the_first_row_that_reaches_it(staff, thirty, sort, descending, letter):
    order = reference(thirty.rows.values(), sort, descending, "")
    first_key = {
        "name": lambda r: r.name_key,
        "email": lambda r: r.email,
        "organization": lambda r: r.org and r.org[0],
    }[sort]
    low = letter.lower()

    def reached(i):
        key = first_key(thirty.rows[i])
        return key is not None and (key < chr(ord(low) + 1) if descending else key >= low)

    position = next(n for n, i in enumerate(order) if reached(i))
    direction = "desc" if descending else "asc"
    html = staff.get(f"/manage/users?sort={sort}&dir={direction}&size=10").get_data(as_text=True)
    (nav,) = elements(html, 'nav[aria-label="Jump to letter"]')
    assert [a.text_content() for a in nav.cssselect("a")] == list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    (jump,) = [a.get("href") for a in nav.cssselect("a") if a.text_content() == letter]
    html = staff.get(jump, htmx=True).get_data(as_text=True)
    assert shown_ids(html) == order[position : position + 10]
    assert text_of(html, ".pager-summary").startswith(f"{position + 1}–")
    assert texts(html, 'nav[aria-label="Jump to letter"] a[aria-current]') == [letter]
    # Next and Previous go on from there.
    if link(html, "next"):
        after = staff.get(link(html, "next"), htmx=True).get_data(as_text=True)
        assert shown_ids(after) == order[position + 10 : position + 20]
    if link(html, "prev"):
        before = staff.get(link(html, "prev"), htmx=True).get_data(as_text=True)
        assert shown_ids(before) == order[max(position - 10, 0) : position]


def test_a_letter_past_the_last_row_shows_the_last_page(staff, thirty):
    order = reference(thirty.rows.values(), "name", False, "")
    html = staff.get("/manage/users?size=10&letter=Z", htmx=True).get_data(as_text=True)
    zed = [i for i in order if thirty.rows[i].name_key >= "z"]
    assert zed and shown_ids(html) == order[order.index(zed[0]) :][:10]
    thirty.delete(range(1000))  # everyone but the staff member
    html = staff.get("/manage/users?size=10&letter=Z", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == [staff.user_id] and text_of(html, ".pager-summary") == "1–1 of 1"


@pytest.mark.parametrize("sort", ["type", "status", "last_login"])
def test_sorts_whose_column_has_no_letters_offer_none(staff, thirty, sort):
    html = staff.get(f"/manage/users?sort={sort}", htmx=True).get_data(as_text=True)
    assert not elements(html, 'nav[aria-label="Jump to letter"]')
    # A letter in the address changes nothing there.
    with_letter = staff.get(f"/manage/users?sort={sort}&letter=M", htmx=True)
    assert shown_ids(with_letter.get_data(as_text=True)) == shown_ids(html)


def test_a_search_offers_no_letters(staff, thirty):
    html = staff.get("/manage/users?q=garcia", htmx=True).get_data(as_text=True)
    assert shown_ids(html) and not elements(html, 'nav[aria-label="Jump to letter"]')


def test_a_typed_page_number_jumps_there(staff, thirty):
    order = reference(thirty.rows.values(), "name", False, "")
    html = staff.get("/manage/users?size=10&status=active").get_data(as_text=True)
    (form,) = elements(html, "form.page-jump")
    assert form.cssselect('label[for="page-number"]')[0].text_content() == "Page"
    assert form.cssselect("#page-number")[0].get("value") == "1"
    assert "of 4" in text_of(html, "form.page-jump") and "Go" in text_of(html, "form.page-jump")
    hidden = {i.get("name"): i.get("value") for i in form.cssselect('input[type="hidden"]')}
    assert hidden == {"sort": "name", "dir": "asc", "size": "10", "status": "active"}
    html = staff.get("/manage/users?sort=name&dir=asc&size=10&page=3", htmx=True)
    html = html.get_data(as_text=True)
    assert shown_ids(html) == order[20:30] and text_of(html, ".pager-summary") == "21–30 of 31"
    assert element_value(html) == "3" and not elements(html, "#page-number-error")


def element_value(html: str) -> str:
    return elements(html, "#page-number")[0].get("value")


@pytest.mark.parametrize(
    "typed, message, shown",
    [
        ("abc", "Enter a page number, such as 2.", "1–10 of 31"),
        ("0", "Enter a page number, such as 2.", "1–10 of 31"),
        ("-3", "Enter a page number, such as 2.", "1–10 of 31"),
        ("2.5", "Enter a page number, such as 2.", "1–10 of 31"),
        ("99", "There are 4 pages: this is the last.", "31–31 of 31"),
        ("99999999999999999999", "There are 4 pages: this is the last.", "31–31 of 31"),
    ],
)
def test_a_page_number_that_names_no_page_says_so(staff, thirty, typed, message, shown):
    before = len(thirty.alive)
    response = staff.get(f"/manage/users?size=10&page={typed}", htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert text_of(html, "#page-number-error") == message
    field = elements(html, "#page-number")[0]
    assert field.get("aria-invalid") == "true" and field.get("value") == typed
    assert field.get("aria-describedby") == "page-number-error"
    assert text_of(html, ".pager-summary") == shown
    assert len(thirty.alive) == before
