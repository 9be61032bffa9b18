"""Search as you type: the same users whichever way the database answers.

On SQLite a trigram index kept by triggers answers rare words and LIKE answers common and
short ones (scope/search.py); on PostgreSQL LIKE with its trigram index answers all. These
tests hold every path to one meaning: each word occurs in the name key or the email.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from scope import search
from scope.extensions import db
from scope.models import User, UserStatus, UserType
from scope.text import name_key, person_name_key
from tests.helpers import elements

PEOPLE = [
    ("Maya", "Chen", "maya.chen@beacon.example.com"),
    ("Omar", "Díaz", "omar@lakeshore.example.org"),
    ("Zoë", "O'Brien", None),
    ("Ana", "García", "ana.garcia@example.com"),
    ("Ana", "Garcia-Marquez", "agm@example.com"),
    ("Li", "Na", "li.na@example.com"),
    ("Björn", "Åberg", "bjorn%aberg@example.com"),
    ('Quote"d', "Person_x", "q_d@example.com"),
    ("Jörg", "Strauß", "joerg@straße.example.de"),
]


@pytest.fixture
def people(app, make_sponsor, make_user):
    sponsor = make_sponsor()
    other = make_sponsor()
    for first, last, email in PEOPLE:
        make_user(
            email or "",
            sponsor_id=sponsor,
            first_name=first,
            last_name=last,
            user_type=UserType.MENTOR,
            status=UserStatus.MANAGED,
            with_password=False,
        )
    # Another sponsor's Maya is never among the results.
    make_user("maya.chen@other.example.com", sponsor_id=other, first_name="Maya", last_name="Chen")
    return sponsor


def found(app, sponsor: int, q: str) -> list[str]:
    with app.app_context():
        stmt = select(User).where(User.sponsor_id == sponsor, *search.conditions(q))
        return sorted(u.name_key for u in db.session.scalars(stmt))


def expected(q: str) -> list[str]:
    words = q.split()[:6]
    rows = []
    for first, last, email in PEOPLE:
        key = f"{last} {first}".casefold()
        if all(w.casefold() in key or w.lower() in (email or "") for w in words):
            rows.append(key)
    return sorted(rows)


@pytest.fixture
def paths(monkeypatch):
    """Run a search three ways: the index where it helps, LIKE only, the index always."""

    def run(app, sponsor, q):
        results = {"chosen": found(app, sponsor, q)}
        monkeypatch.setattr(search, "_has_index", lambda: False)
        results["like"] = found(app, sponsor, q)
        monkeypatch.undo()
        monkeypatch.setattr(search, "DENSE", 10**9)
        results["index"] = found(app, sponsor, q)
        monkeypatch.undo()
        return results

    return run


def test_sqlite_has_the_search_index_and_postgresql_does_not(app):
    with app.app_context():
        assert search._has_index() is (db.engine.dialect.name == "sqlite")


@pytest.mark.parametrize(
    "q",
    [
        "maya",
        "MAYA chen",
        "chen maya",
        "garcia",
        "garcía",
        "garcia ana",
        "ana",
        "an",
        "a",
        "na li",
        "example.com",
        "maya.chen@beacon.example.com",
        "MAYA.CHEN@beacon",
        "chen@",
        "en@beacon.example.com",
        "ya@beacon",
        "@beacon.example.com",
        "nobody@beacon.example.com",
        "maya.chen@beacon.example.com maya",
        "lakeshore",
        "%",
        "_",
        "bjorn%ab",
        'quote"d',
        "q_d",
        "o'brien",
        "åberg",
        "zoë",
        "nobody",
        "maya nobody",
        "díaz omar",
        "strauss",
        "STRAUß",
        "straße",
    ],
)
def test_every_path_finds_the_same_users(app, people, paths, q):
    results = paths(app, people, q)
    assert results["chosen"] == results["like"] == results["index"] == expected(q), q


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    q=st.one_of(
        st.text(max_size=12),
        st.lists(
            st.sampled_from(
                ["maya", "chen", "ar", "garc", "ia", "example", "org", "é", "ö", "@", "n@be"]
            ),
            max_size=3,
        ).map(" ".join),
    )
)
def test_any_text_finds_the_same_users_every_way(app, people, paths, q):
    q = q.replace("\x00", "")
    results = paths(app, people, q)
    assert results["chosen"] == results["like"] == results["index"] == expected(q), q


def test_the_index_follows_renames_new_emails_and_deletions(app, people, paths):
    with app.app_context():
        maya = db.session.scalar(select(User).where(User.email == "maya.chen@beacon.example.com"))
        maya.last_name = "Okafor"
        maya.email = "maya.okafor@beacon.example.com"
        omar = db.session.scalar(select(User).where(User.email == "omar@lakeshore.example.org"))
        db.session.delete(omar)
        db.session.commit()
    for q, names in [
        ("okafor", ["okafor maya"]),
        ("maya.okafor", ["okafor maya"]),
        ("chen", []),
        ("beacon", ["okafor maya"]),
        ("lakeshore", []),
        ("omar", []),
    ]:
        results = paths(app, people, q)
        assert results["chosen"] == results["like"] == results["index"] == names, q


# Best matches first ------------------------------------------------------------------

RANKED = [
    ("Ana", "Garcia", "ana.g@example.com"),
    ("Luis", "Edgarcia", "luis@example.com"),  # inside a word: after the others
    ("Garcia", "Lopez", None),  # first name
    ("Maria", "Bogarcia", "garcia.m@example.com"),  # the email's first word
    ("Rosa", "Garcia-Marquez", "rosa@example.com"),
    ("Tomas", "Perez", "t.garciaperez@example.com"),  # a word of the email
]


def shown_names(html: str) -> list[str]:
    return [name.text_content() for name in elements(html, 'tr[id^="user-"] .cell-name a')]


def add_people(staff, make_user, people) -> None:
    for first, last, email in people:
        make_user(
            email or "",
            sponsor_id=staff.sponsor_id,
            first_name=first,
            last_name=last,
            user_type=UserType.MENTOR,
            with_password=False,
        )


@pytest.fixture
def ranked(staff, make_user):
    add_people(staff, make_user, RANKED)
    return staff


def test_a_search_shows_whole_words_and_prefixes_first_then_name_order(ranked):
    html = ranked.get("/manage/users?q=garcia", htmx=True).get_data(as_text=True)
    # People named Garcia first (names sort by last name), then the other whole words and
    # prefixes, then matches inside a word; each part in name order.
    assert shown_names(html) == [
        "Ana Garcia",
        "Rosa Garcia-Marquez",
        "Maria Bogarcia",
        "Garcia Lopez",
        "Tomas Perez",
        "Luis Edgarcia",
    ]
    html = ranked.get("/manage/users?q=garcia+ma", htmx=True).get_data(as_text=True)
    # "ma" starts Maria and Marquez; it is inside Tomas (and Garcia-Marquez's email is rosa@).
    assert shown_names(html) == ["Rosa Garcia-Marquez", "Maria Bogarcia", "Tomas Perez"]
    # Browsing, and a search sorted another way, keep that order.
    html = ranked.get("/manage/users?q=garcia&sort=name&dir=desc", htmx=True)
    names = shown_names(html.get_data(as_text=True))
    assert names == [
        "Tomas Perez",
        "Garcia Lopez",
        "Rosa Garcia-Marquez",
        "Ana Garcia",
        "Luis Edgarcia",
        "Maria Bogarcia",
    ]


PARTS = ["ana", "garcia", "marquez", "edgar", "maria", "lopez", "ma", "ia", "gar", "z"]


def _best_first(first: str, last: str, email: str | None, q: str) -> tuple:
    key = f"{last} {first}".casefold()
    words = q.split()[:6]

    def starts(word: str) -> bool:
        return bool(
            re.search(r"(^|[ -])" + re.escape(word.casefold()), key)
            or re.search(r"(^|[.@_+-])" + re.escape(word.lower()), email or "")
        )

    best = all(starts(w) for w in words)
    # The best of them: the name (key) starts with the first word, as it sorts by last name;
    # first of all, for a search of several words, those whose name starts with all of it.
    lead = best and person_name_key(first, last).startswith(name_key(words[0]))
    whole = lead and len(q.split()) > 1 and person_name_key(first, last).startswith(name_key(q))
    return (0 if whole else 1 if lead else 2 if best else 3, key)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    crowd=st.lists(
        st.tuples(
            st.sampled_from(PARTS).map(str.title),
            st.lists(st.sampled_from(PARTS), min_size=1, max_size=2).map("-".join),
            st.one_of(st.none(), st.lists(st.sampled_from(PARTS), min_size=1, max_size=2)),
        ),
        max_size=20,
    ),
    q=st.lists(st.sampled_from([*PARTS, "A", "GAR", "-", "a-m", "é"]), min_size=1, max_size=2),
)
# The parts in one example: the whole search starts a name, the first word starts another,
# both words start words of a third, and the second is inside a word of a fourth.
@example(
    crowd=[
        ("Ana", "garcia", ["ma"]),
        ("Maria", "garcia", None),
        ("Marquez", "lopez-garcia", None),
        ("Tomas", "garcia", None),
    ],
    q=["garcia", "ma"],
)
def test_a_search_finds_what_a_substring_scan_finds_best_first(app, staff, crowd, q):
    q = " ".join(q)
    with app.app_context():
        db.session.execute(delete(User).where(User.id != staff.user_id))
        for n, (first, last, email) in enumerate(crowd):
            address = f"{'.'.join(email)}{n}@x.test" if email else None
            db.session.add(
                User(
                    sponsor_id=staff.sponsor_id,
                    email=address,
                    first_name=first,
                    last_name=last,
                    user_type=UserType.MENTOR,
                    status=UserStatus.ACTIVE,
                )
            )
        db.session.commit()
        everyone = db.session.scalars(select(User).where(User.sponsor_id == staff.sponsor_id))
        rows = [(u.id, u.first_name, u.last_name, u.email) for u in everyone]
    words = q.split()
    found = [
        (i, first, last, email)
        for i, first, last, email in rows
        if all(
            w.casefold() in f"{last} {first}".casefold() or w.lower() in (email or "")
            for w in words
        )
    ]
    found.sort(key=lambda r: (*_best_first(r[1], r[2], r[3], q), r[0]))
    html = staff.get(f"/manage/users?size=100&q={quote(q)}", htmx=True).get_data(as_text=True)
    ids = [int(r.get("id").removeprefix("user-")) for r in elements(html, 'tr[id^="user-"]')]
    assert ids == [r[0] for r in found], q


def test_a_name_that_starts_with_the_whole_search_comes_first(staff, make_user):
    people = [
        ("Ana", "Garcia", "mateo.a@example.com"),  # Garcia, and "ma" starts the email
        ("Maria", "Garcia", None),  # the name starts with "garcia ma": first of all
        ("Marta", "Lopez-Garcia", None),  # both words start a word of the name
        ("Tomas", "Garciana", None),  # "ma" inside a word
        ("Mateo", "Garcia", None),
    ]
    add_people(staff, make_user, people)
    html = staff.get("/manage/users?q=garcia+ma", htmx=True).get_data(as_text=True)
    assert shown_names(html) == [
        "Maria Garcia",
        "Mateo Garcia",
        "Ana Garcia",
        "Marta Lopez-Garcia",
        "Tomas Garciana",
    ]
    # Typed with more space, or in capitals, it is the same search.
    html = staff.get("/manage/users?q=GARCIA++ma", htmx=True).get_data(as_text=True)
    assert shown_names(html)[:2] == ["Maria Garcia", "Mateo Garcia"]
    # One word: the Garcias first, in name order, as before.
    html = staff.get("/manage/users?q=garcia", htmx=True).get_data(as_text=True)
    assert shown_names(html)[:3] == ["Ana Garcia", "Maria Garcia", "Mateo Garcia"]


@pytest.mark.parametrize("htmx", [True, False])
def test_a_word_ending_in_the_last_character_before_the_surrogates_is_searched(
    staff, make_user, htmx
):
    """The name range's upper bound is the next character: after U+D7FF that is U+E000
    (U+D800 is half a surrogate pair, which no database driver takes)."""
    add_people(
        staff,
        make_user,
        [("Ana", "Kim\ud7ff", None), ("Bo", "Kim\ue000", None), ("Cy", "Kim\U0010ffff", None)],
    )
    for q, names in (
        ("kim\ud7ff", ["Ana Kim\ud7ff"]),
        ("kim\ud7ff ana", ["Ana Kim\ud7ff"]),
        ("kim\U0010ffff", ["Cy Kim\U0010ffff"]),
    ):
        response = staff.get(f"/manage/users?q={quote(q)}", htmx=htmx)
        assert response.status_code == 200, q
        assert shown_names(response.get_data(as_text=True)) == names, q


def test_the_parts_nest_under_a_collation_that_is_not_code_point_order(app, staff, make_user):
    """The name ranges of the first parts are bounded by the next character ("lopez" <
    "lope{"), which is the range of names that start with it only in code point order. Under
    a linguistic collation ("lope{" sorts before "lopez") the first word's range is empty
    while the whole search's is not: the parts still nest, and Next shows every match once."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a collation of PostgreSQL's (SQLite compares code points)")
        # Undone with the test's transaction (a commit here releases a savepoint).
        db.session.execute(
            text(
                "ALTER TABLE user_account ALTER COLUMN name_key"
                ' TYPE varchar(210) COLLATE "und-x-icu"'
            )
        )
        db.session.commit()
        assert db.session.scalar(text("SELECT 'lope{' < 'lopez' COLLATE \"und-x-icu\"")) is True
    people = [
        *[(first, "Lopez", None) for first in ("Maria", "Marina", "Mario", "Marisol")] * 2,
        *[("Ana-Maria", "Lopez", None)] * 3,  # the first word leads, "mari" starts a word
        *[("Maria", "Diaz-Lopez", None)] * 3,  # both start words, not the name
        *[("Tomari", "Lopezz", None)] * 3,  # "mari" inside a word
    ]
    add_people(staff, make_user, people)
    url, shown = "/manage/users?size=10&q=lopez+mari", []
    for _ in range(10):
        html = staff.get(url, htmx=True).get_data(as_text=True)
        shown += [int(r.get("id").removeprefix("user-")) for r in elements(html, 'tr[id^="user-"]')]
        following = elements(html, 'a[rel="next"]')
        if not following:
            break
        url = following[0].get("href")
    with app.app_context():
        everyone = set(
            db.session.scalars(
                select(User.id).where(User.sponsor_id == staff.sponsor_id, User.id != staff.user_id)
            )
        )
    assert len(shown) == len(set(shown)), "a row shown twice"
    assert set(shown) == everyone


def test_a_pattern_is_never_a_bare_parameter_on_sqlite():
    """SQLite prepares a statement again whenever a parameter that is a whole LIKE pattern
    is bound: every search would be compiled twice. There the pattern is `(? || '')`."""
    from sqlalchemy.dialects import postgresql, sqlite

    condition = search.word_starts("garcia ma")
    on_sqlite = str(condition.compile(dialect=sqlite.dialect()))
    assert "LIKE (? || '') ESCAPE '/'" in on_sqlite
    assert "LIKE ? " not in on_sqlite
    on_postgresql = str(condition.compile(dialect=postgresql.dialect()))
    assert "|| ''" not in on_postgresql and "ESCAPE '/'" in on_postgresql
