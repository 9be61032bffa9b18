"""Search as you type: the same users whichever way the database answers.

On SQLite a trigram index kept by triggers answers rare words and LIKE answers common and
short ones (scope/search.py); on PostgreSQL LIKE with its trigram index answers all. These
tests hold every path to one meaning: each word occurs in the name key or the email.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from scope import search
from scope.extensions import db
from scope.models import User, UserStatus, UserType

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
            st.sampled_from(["maya", "chen", "ar", "garc", "ia", "example", "org", "é", "ö"]),
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
