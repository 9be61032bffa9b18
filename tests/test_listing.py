"""Paging, sorting and the capped count of every table, checked against the rows themselves.

Listing.fetch walks the ids of a page and the rows after it in one statement; these tests
hold it to what a person sees: the right rows in the right order on every page, a summary
that says how many there are (or "N+" past the count's reach), and a page past the end
that shows the last page. They run on SQLite and, in .ci/run, on PostgreSQL.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import scope.listing
import scope.manage.counts
from scope.extensions import db
from scope.models import User, UserStatus, UserType
from tests.helpers import elements, text_of

NAMES = ["Ana", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu"]


@pytest.fixture
def crowd(app, staff, make_user, make_org):
    """60 partner users with repeated names, mixed statuses and organizations."""
    rng = random.Random(7)
    orgs = [make_org(staff.sponsor_id, f"Org {letter}") for letter in "QZAM"]
    for n in range(60):
        make_user(
            f"person{n:02d}@crowd.example.com" if n % 7 else "",
            sponsor_id=staff.sponsor_id,
            user_type=rng.choice([UserType.MENTOR, UserType.SUPERVISOR]),
            status=rng.choice(list(UserStatus)),
            organization_id=rng.choice(orgs + [None]) if n % 5 else None,
            first_name=rng.choice(NAMES),
            last_name=rng.choice(NAMES),
            with_password=False,
        )
    return staff


def shown_ids(html: str) -> list[int]:
    return [int(row.get("id").removeprefix("user-")) for row in elements(html, 'tr[id^="user-"]')]


def summary(html: str) -> str:
    return text_of(html, ".pager-summary")


def expected_ids(
    app, sponsor_id: int, key, reverse: bool = False, empty_last=None, **where
) -> list[int]:
    with app.app_context():
        users = db.session.scalars(select(User).where(User.sponsor_id == sponsor_id)).all()
        users = [u for u in users if all(getattr(u, k) == v for k, v in where.items())]
        # Ties break by id in the sort's direction, as the listing does (a descending order
        # is the ascending one read backwards; a stable sort keeps the id order among equals).
        users.sort(key=lambda u: u.id, reverse=reverse)
        users.sort(key=key, reverse=reverse)
        if empty_last:
            users.sort(key=empty_last)  # stable: rows without the value move to the end
        return [u.id for u in users]


def by_organization(u):
    org = u.partner_organization
    return (org.name_key, org.id, u.name_key) if org else ("", 0, u.name_key)


def no_organization(u):
    return u.partner_organization is None


def nulls_last(value):
    return (value is None, value or "")


@pytest.mark.parametrize(
    "query, key, reverse, empty_last, where",
    [
        ("sort=name&dir=asc", lambda u: u.name_key, False, None, {}),
        ("sort=name&dir=desc", lambda u: u.name_key, True, None, {}),
        ("sort=email&dir=asc", lambda u: nulls_last(u.email), False, None, {}),
        ("sort=organization&dir=asc", by_organization, False, no_organization, {}),
        ("sort=organization&dir=desc", by_organization, True, no_organization, {}),
        (
            "sort=organization&status=managed",
            by_organization,
            False,
            no_organization,
            {"status": UserStatus.MANAGED},
        ),
        (
            "status=managed&sort=name",
            lambda u: u.name_key,
            False,
            None,
            {"status": UserStatus.MANAGED},
        ),
    ],
)
def test_every_page_shows_the_next_rows_in_order(
    app, crowd, query, key, reverse, empty_last, where
):
    expected = expected_ids(app, crowd.sponsor_id, key, reverse, empty_last, **where)
    seen = []
    page = 1
    while True:
        html = crowd.get(f"/manage/users?{query}&size=10&page={page}", htmx=True).get_data(
            as_text=True
        )
        ids = shown_ids(html)
        if not ids or page > 10:
            break
        first = (page - 1) * 10 + 1
        assert summary(html) == f"{first}–{first + len(ids) - 1} of {len(expected)}"
        seen += ids
        if len(ids) < 10:
            break
        page += 1
    assert len(seen) == len(expected) and seen == expected


def test_the_count_stops_past_its_reach_and_says_so(app, crowd, monkeypatch):
    monkeypatch.setattr(scope.listing, "COUNT_AHEAD", 12)
    # As for a listing no kept count holds (a search, two filters): the rows are counted.
    monkeypatch.setattr(scope.manage.counts, "counted", lambda listing: None)
    everyone = expected_ids(app, crowd.sponsor_id, lambda u: u.name_key)
    assert len(everyone) == 61
    html = crowd.get("/manage/users?size=10", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == everyone[:10]
    assert summary(html) == "1–10 of 12+"  # counted 12 rows from the first on this page
    assert elements(html, '[rel="next"]')
    html = crowd.get("/manage/users?size=10&page=5", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == everyone[40:50] and summary(html) == "41–50 of 52+"
    # From row 51 the 11 rows left are within reach: the count is exact.
    html = crowd.get("/manage/users?size=10&page=6", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == everyone[50:60] and summary(html) == "51–60 of 61"
    html = crowd.get("/manage/users?size=10&page=7", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == everyone[60:] and summary(html) == "61–61 of 61"
    assert not elements(html, '[rel="next"]')


def test_a_page_past_the_end_shows_the_last_page(app, crowd):
    everyone = expected_ids(app, crowd.sponsor_id, lambda u: u.name_key)
    html = crowd.get("/manage/users?size=25&page=400", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == everyone[50:] and summary(html) == "51–61 of 61"
    html = crowd.get("/manage/users?q=nobody-at-all&page=3", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == [] and summary(html) == "No results"


def test_a_search_counts_fewer_rows_ahead(app, crowd, monkeypatch):
    monkeypatch.setattr(scope.listing, "COUNT_AHEAD", 40)
    monkeypatch.setattr(scope.listing, "SEARCH_COUNT_AHEAD", 12)
    monkeypatch.setattr(scope.manage.counts, "counted", lambda listing: None)
    html = crowd.get("/manage/users?size=10", htmx=True).get_data(as_text=True)
    assert summary(html) == "1–10 of 40+"
    matching = expected_ids(app, crowd.sponsor_id, lambda u: u.name_key)
    with app.app_context():
        matching = [
            i
            for i in matching
            if "a" in db.session.get(User, i).name_key + " " + (db.session.get(User, i).email or "")
        ]
    assert len(matching) > 13
    # The best matches first (a word starting with "a"), each part in name order.
    with app.app_context():
        starts = {
            i
            for i in matching
            if re.search(r"(^|[ .@_+-])a", db.session.get(User, i).name_key)
            or re.search(r"(^|[ .@_+-])a", db.session.get(User, i).email or "")
        }
    matching.sort(key=lambda i: i not in starts)
    html = crowd.get("/manage/users?size=10&q=a", htmx=True).get_data(as_text=True)
    assert shown_ids(html) == matching[:10] and summary(html) == "1–10 of 12+"
    html = crowd.get(f"/manage/users?size=10&q=a&page={len(matching) // 10 + 1}", htmx=True)
    last = len(matching) // 10 * 10
    assert summary(html.get_data(as_text=True)) == f"{last + 1}–{len(matching)} of {len(matching)}"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    args=st.dictionaries(
        st.sampled_from(["q", "sort", "dir", "page", "size", "type", "status", "organization"]),
        st.text(min_size=1, max_size=12),
        max_size=8,
    ),
    letter=st.sampled_from(["A", "M", "Z", None]),
)
def test_a_listings_url_is_the_one_url_for_builds(app, args, letter):
    """Listing.url (the 26 letter links of MANAGE → Users) builds what url_for builds for the
    same parameters, whatever the search and filters hold."""
    from flask import url_for

    with app.test_request_context("/manage/users"):
        listing = scope.listing.Listing.from_request(
            ("name", "email"), "name", ("type", "status", "organization"), args=args
        )
        base = url_for("manage.users")
        built = url_for("manage.users", **dict(listing.params, page=None, letter=letter))
        assert listing.url(base, page=None, letter=letter) == built
        # The letter links, encoded once for all 26: each is url_for's.
        assert listing.letter_urls(base) == [
            (each, url_for("manage.users", **dict(listing.params, page=None, letter=each)))
            for each in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        ]
        # The sortable headers and the pager: link() routes once for all of them.
        for changes in (
            {"sort": "email", "dir": "desc", "page": 1},
            listing.prev_changes,
            listing.next_changes,
        ):
            built = url_for("manage.users", **dict(listing.params, **changes))
            assert listing.link("manage.users", **changes) == built
