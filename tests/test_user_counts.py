"""Exact totals of MANAGE → Users: user_count, kept by triggers, always equals count(*).

Every test compares the kept counts with the users themselves after a kind of change: an
account made or deleted one at a time, through the bulk actions, by a plain UPDATE or
DELETE, by a cascade; a rolled-back transaction; and writers racing each other (threads,
real commits; on PostgreSQL with SCOPE_TEST_DATABASE_URL, on SQLite otherwise).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

import scope.listing
from scope.extensions import db
from scope.models import Sponsor, User, UserCount, UserStatus, UserType
from tests.helpers import text_of

PARTNER_TYPES = [UserType.ADMINISTRATOR, UserType.SUPERVISOR, UserType.MENTOR, UserType.PROVIDER]


def kept_counts() -> Counter:
    rows = db.session.execute(
        select(UserCount.sponsor_id, UserCount.dimension, UserCount.value, UserCount.count)
    )
    return Counter({(s, d, v): n for s, d, v, n in rows if n})


def true_counts() -> Counter:
    """What count(*) says, for every sponsor and every count kept."""
    counts = Counter()
    columns = {
        "all": None,
        "status": User.status,
        "type": User.user_type,
        "organization": User.partner_organization_id,
    }
    for dimension, column in columns.items():
        if column is None:
            stmt = select(User.sponsor_id, func.count()).group_by(User.sponsor_id)
            counts.update({(s, "all", ""): n for s, n in db.session.execute(stmt)})
            continue
        stmt = select(User.sponsor_id, column, func.count()).group_by(User.sponsor_id, column)
        for sponsor_id, value, n in db.session.execute(stmt):
            if value is not None:
                value = value.value if hasattr(value, "value") else str(value)
                counts[(sponsor_id, dimension, value)] = n
    return counts


def assert_counts_exact(app) -> None:
    with app.app_context():
        assert kept_counts() == true_counts()
        db.session.remove()


@pytest.fixture
def crowd(app, staff, make_user, make_org):
    """40 partner users of mixed status, type and organization (and the staff member)."""
    rng = random.Random(16)
    orgs = [make_org(staff.sponsor_id, f"Org {letter}") for letter in "ABC"]
    for n in range(40):
        status = rng.choice(list(UserStatus))
        make_user(
            f"crowd{n}@example.com",
            sponsor_id=staff.sponsor_id,
            user_type=rng.choice(PARTNER_TYPES),
            status=status,
            organization_id=rng.choice(orgs),
            with_password=status is not UserStatus.MANAGED,
        )
    staff.orgs = orgs
    return staff


def summary(response) -> str:
    return text_of(response.get_data(as_text=True), ".pager-summary")


def test_the_users_page_shows_exact_totals_past_the_count_s_reach(app, crowd, monkeypatch):
    # Counting rows would stop at 5 ahead and say "N+"; the kept counts are exact.
    monkeypatch.setattr(scope.listing, "COUNT_AHEAD", 5)
    monkeypatch.setattr(scope.listing, "SEARCH_COUNT_AHEAD", 5)
    with app.app_context():
        users = db.session.scalars(select(User).where(User.sponsor_id == crowd.sponsor_id)).all()
    assert len(users) == 41
    assert summary(crowd.get("/manage/users?size=10", htmx=True)) == "1–10 of 41"
    for name, attribute, values in [
        ("status", "status", [s.value for s in UserStatus]),
        ("type", "user_type", [t.value for t in UserType]),
        ("organization", "partner_organization_id", crowd.orgs),
    ]:
        for value in values:
            n = sum(1 for u in users if str(getattr(u, attribute)) == str(value))
            response = crowd.get(f"/manage/users?size=10&{name}={value}", htmx=True)
            expected = f"1–{min(n, 10)} of {n}" if n else "No results"
            assert summary(response) == expected, (name, value)
    # A search, or two filters at once, still counts its rows up to the reach.
    assert summary(crowd.get("/manage/users?size=10&q=crowd", htmx=True)) == "1–10 of 10+"
    two = crowd.get("/manage/users?size=1&status=active&type=staff", htmx=True)
    assert summary(two) == "1–1 of 1"


def test_another_sponsor_s_organization_counts_nothing(
    app, crowd, make_sponsor, make_user, make_org
):
    theirs = make_sponsor("Theirs")
    their_org = make_org(theirs, "Their Org")
    make_user(
        "t@theirs.test", sponsor_id=theirs, user_type=UserType.MENTOR, organization_id=their_org
    )
    # The filter picks no organization of theirs (and says so): everyone of ours is shown,
    # counted as ours, never their organization's count.
    response = crowd.get(f"/manage/users?organization={their_org}", htmx=True)
    assert summary(response) == "1–25 of 41"


def test_every_kind_of_change_keeps_the_counts_exact(app, crowd, make_sponsor, make_user, make_org):
    assert_counts_exact(app)
    with app.app_context():
        ids = list(
            db.session.scalars(
                select(User.id)
                .where(User.sponsor_id == crowd.sponsor_id, User.id != crowd.user_id)
                .order_by(User.id)
            )
        )
    # The bulk actions, through their routes.
    for kind in ("deactivate", "reactivate", "delete"):
        response = crowd.post(f"/manage/users/bulk/{kind}", {"user_id": ids[:20]}, htmx=True)
        assert response.status_code == 200, kind
        assert_counts_exact(app)
    # One account: its status, type and organization changed, then deleted (the ORM).
    with app.app_context():
        user = db.session.scalars(
            select(User).where(User.sponsor_id == crowd.sponsor_id, User.id != crowd.user_id)
        ).first()
        user.status = UserStatus.DEACTIVATED
        user.user_type = UserType.PROVIDER
        user.partner_organization_id = crowd.orgs[2]
        db.session.commit()
        assert kept_counts() == true_counts()
        db.session.delete(user)
        db.session.commit()
        assert kept_counts() == true_counts()
        # Plain UPDATE and DELETE statements over many rows.
        db.session.execute(
            update(User)
            .where(User.sponsor_id == crowd.sponsor_id, User.user_type == UserType.MENTOR)
            .values(user_type=UserType.SUPERVISOR, partner_organization_id=crowd.orgs[0])
        )
        assert kept_counts() == true_counts()
        db.session.execute(
            delete(User).where(
                User.sponsor_id == crowd.sponsor_id, User.status == UserStatus.MANAGED
            )
        )
        db.session.commit()
        assert kept_counts() == true_counts()
    # A whole sponsor deleted (on PostgreSQL its users go by cascade).
    other = make_sponsor("Gone")
    org = make_org(other, "Gone Org")
    for n in range(3):
        make_user(
            f"g{n}@gone.test", sponsor_id=other, user_type=UserType.MENTOR, organization_id=org
        )
    assert_counts_exact(app)
    with app.app_context():
        db.session.execute(delete(Sponsor).where(Sponsor.id == other))
        db.session.commit()
        assert kept_counts() == true_counts()


def test_a_rolled_back_change_leaves_the_counts_as_they_were(app, crowd):
    with app.app_context():
        before = kept_counts()
        db.session.add_all(
            User(
                sponsor_id=crowd.sponsor_id,
                email=f"undone{n}@example.com",
                user_type=UserType.MENTOR,
                status=UserStatus.MANAGED,
            )
            for n in range(5)
        )
        db.session.execute(
            update(User).where(User.sponsor_id == crowd.sponsor_id).values(status="deactivated")
        )
        assert kept_counts() != before  # seen inside the transaction...
        db.session.rollback()
        assert kept_counts() == before == true_counts()  # ...and gone with it


@pytest.mark.real_commits  # threads
def test_writers_racing_each_other_keep_the_counts_exact(app, make_sponsor, make_org):
    """Four writers for 3 seconds each: inserts, deletes, status/type/organization changes,
    bulk updates, two statements in one transaction, and transactions rolled back."""
    sponsors = [make_sponsor(f"Race {n}") for n in range(2)]
    orgs = {s: [make_org(s, f"Race org {s}-{n}") for n in range(3)] for s in sponsors}
    done = Counter()
    errors = []

    def write(seed: int) -> None:
        rng = random.Random(seed)
        made = 0
        with app.app_context():
            for _ in range(60):
                sponsor = rng.choice(sponsors)
                mine = User.sponsor_id == sponsor

                def new_user(sponsor=sponsor):
                    nonlocal made
                    made += 1
                    return User(
                        sponsor_id=sponsor,
                        email=f"w{seed}-{made}@race.test",
                        user_type=rng.choice(PARTNER_TYPES),
                        status=rng.choice(list(UserStatus)),
                        partner_organization_id=rng.choice(orgs[sponsor] + [None]),
                    )

                kind = rng.choice(
                    ["insert", "insert", "delete", "status", "type", "org", "bulk", "two", "undo"]
                )
                some = select(User.id).where(mine).order_by(func.random()).limit(rng.randint(1, 8))
                try:
                    if kind == "insert":
                        db.session.add_all(new_user() for _ in range(rng.randint(1, 4)))
                    elif kind == "delete":
                        db.session.execute(delete(User).where(User.id.in_(some.limit(2))))
                    elif kind == "status":
                        value = rng.choice(list(UserStatus))
                        db.session.execute(
                            update(User).where(User.id.in_(some)).values(status=value)
                        )
                    elif kind == "type":
                        value = rng.choice(PARTNER_TYPES)
                        db.session.execute(
                            update(User).where(User.id.in_(some)).values(user_type=value)
                        )
                    elif kind == "org":
                        value = rng.choice(orgs[sponsor] + [None])
                        db.session.execute(
                            update(User)
                            .where(User.id.in_(some))
                            .values(partner_organization_id=value)
                        )
                    elif kind == "bulk":
                        db.session.execute(
                            update(User)
                            .where(mine, User.status == UserStatus.ACTIVE)
                            .values(status=UserStatus.DEACTIVATED)
                        )
                    elif kind == "two":
                        db.session.add(new_user())
                        db.session.flush()
                        db.session.execute(
                            update(User).where(User.id.in_(some)).values(status="managed")
                        )
                    else:
                        db.session.add_all(new_user() for _ in range(3))
                        db.session.flush()
                        db.session.rollback()
                        done["rolled back"] += 1
                        continue
                    db.session.commit()
                    done[kind] += 1
                except DBAPIError as error:  # a deadlock or a busy database: nothing kept
                    db.session.rollback()
                    done["lost a race"] += 1
                    if "deadlock" not in str(error) and "locked" not in str(error):
                        errors.append(error)
            db.session.remove()

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert done["insert"] and done["rolled back"] and done["status"] and done["bulk"]
    with app.app_context():
        assert sum(true_counts()[(s, "all", "")] for s in sponsors) > 0
    assert_counts_exact(app)
