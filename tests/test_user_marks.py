"""Page marks of MANAGE → Users (scope/manage/marks.py): a typed page number and a jump to a
letter land exactly where counting every row before them would, and the counts between
marks stay exact through every kind of change, rolled back or racing (SQLite and PostgreSQL).

The reference is computed here in Python from the rows (tests/test_keyset.py's People and
reference order), so the marks are checked against the product's order, not themselves.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

import scope.keyset
from scope.extensions import db
from scope.manage import marks
from scope.models import Sponsor, User, UserMark, UserMarkCount, UserStatus, UserType
from scope.text import person_name_key
from tests.helpers import needs_postgres, run_together, text_of
from tests.test_keyset import FIRST, LAST, TYPES, People, person, reference, shown_ids

SPACING = 4
LISTINGS = ["", "status=active", "status=managed", "type=mentor"]


def kept(app) -> Counter:
    with app.app_context():
        rows = db.session.execute(
            select(
                UserMarkCount.sponsor_id,
                UserMarkCount.n,
                UserMarkCount.dimension,
                UserMarkCount.value,
                UserMarkCount.count,
            )
        )
        return Counter({(s, n, d, v): c for s, n, d, v, c in rows if c})


def truth(app) -> Counter:
    """Each user counted at the last mark at or before its (name_key, id)."""
    counts = Counter()
    with app.app_context():
        made: dict[int, list] = {}
        for mark in db.session.scalars(select(UserMark).order_by(UserMark.n)):
            made.setdefault(mark.sponsor_id, []).append(mark)
        for user in db.session.scalars(select(User)):
            at = [
                m.n
                for m in made.get(user.sponsor_id, [])
                if (m.name_key, m.user_id)
                <= (
                    user.name_key,
                    user.id,
                )
            ]
            if not at:
                continue
            for dimension, value in (
                ("all", ""),
                ("status", user.status.value),
                ("type", user.user_type.value),
            ):
                counts[(user.sponsor_id, at[-1], dimension, value)] += 1
        db.session.remove()
    return counts


def make_marks(app, sponsor_id: int, spacing: int = SPACING) -> None:
    with app.app_context():
        marks.make_marks(sponsor_id, spacing)
        db.session.commit()


@pytest.fixture
def forty(app, staff, make_org):
    """40 people of mixed status and type, with marks every 4th in name order."""
    orgs = [make_org(staff.sponsor_id, name) for name in ("Acme", "Beta", "Zeta")]
    people = People(app, staff.sponsor_id, orgs)
    people.reset(staff.user_id)
    rng = random.Random(17)
    people.add(
        [
            (
                rng.choice(FIRST),
                rng.choice(LAST),
                True,
                rng.choice(TYPES),
                rng.choice(list(UserStatus)),
                None,
                None,
            )
            for _ in range(40)
        ]
    )
    make_marks(app, staff.sponsor_id)
    return people


@pytest.fixture
def no_counting(monkeypatch):
    """Fail if a jump counts the rows before it, or walks further than a mark's span."""
    walked = []
    real_walk = scope.keyset.walk

    def walk(*args, **kwargs):
        walked.append(kwargs.get("offset", 0))
        return real_walk(*args, **kwargs)

    def before_count(*args, **kwargs):
        raise AssertionError("counted the rows before a letter")

    monkeypatch.setattr(scope.keyset, "walk", walk)
    monkeypatch.setattr(scope.keyset, "before_count", before_count)
    return walked


def expect_jumps(staff, people, listing: str, no_counting=None) -> None:
    """Every page number (and one past the end) and every letter, both directions, shows
    the rows the reference order puts there, with the right summary."""
    for descending in (False, True):
        order = reference([people.rows[i] for i in people.alive], "name", descending, listing)
        pages = max(1, -(-len(order) // 10))
        base = f"/manage/users?sort=name&dir={'desc' if descending else 'asc'}&size=10&{listing}"
        for page in range(1, pages + 2):
            shown = min(page, pages)
            html = staff.get(f"{base}&page={page}", htmx=True).get_data(as_text=True)
            rows = order[(shown - 1) * 10 : shown * 10]
            assert shown_ids(html) == rows, (listing, descending, page)
            if rows:
                summary = f"{(shown - 1) * 10 + 1}–{(shown - 1) * 10 + len(rows)} of {len(order)}"
                assert text_of(html, ".pager-summary") == summary
            if no_counting is not None:
                assert max(no_counting, default=0) < 2 * SPACING, no_counting
                no_counting.clear()
        for letter in "ABGLMZ":
            low = letter.lower()
            reached = [
                n
                for n, i in enumerate(order)
                if (
                    people.rows[i].name_key < chr(ord(low) + 1)
                    if descending
                    else people.rows[i].name_key >= low
                )
            ]
            html = staff.get(f"{base}&letter={letter}", htmx=True).get_data(as_text=True)
            if reached:
                position = reached[0]
                assert shown_ids(html) == order[position : position + 10], (letter, descending)
                assert text_of(html, ".pager-summary").startswith(f"{position + 1}–")
            else:  # past the last row: the last page
                assert shown_ids(html) == order[(pages - 1) * 10 :], (letter, descending)


@pytest.mark.parametrize("listing", LISTINGS)
def test_page_numbers_and_letters_land_where_counting_would(
    app, staff, forty, no_counting, listing
):
    assert kept(app) == truth(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserMark)) == 11  # 41 / 4 + 1
    expect_jumps(staff, forty, listing, no_counting)


def test_a_page_past_the_end_says_how_many_pages_there_are(app, staff, forty):
    response = staff.get("/manage/users?size=10&page=99", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text_of(html, "#page-number-error") == "There are 5 pages: this is the last."
    assert text_of(html, ".pager-summary") == "41–41 of 41"


def test_without_marks_a_sponsor_s_jumps_count_as_before(app, staff, forty):
    with app.app_context():
        db.session.execute(delete(UserMarkCount))
        db.session.execute(delete(UserMark))
        db.session.commit()
    expect_jumps(staff, forty, "status=active")


edits = st.lists(
    st.tuples(
        st.sampled_from(["add", "delete", "rename", "status", "type", "bulk", "undo"]),
        st.lists(person, min_size=1, max_size=3),
        st.integers(0, 999),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=edits)
def test_the_spans_stay_exact_through_every_kind_of_change(app, staff, forty, changes):
    """Marks are made once; users are then added, deleted, renamed across marks, changed in
    status and type one at a time and in bulk, and a change is rolled back. The counts stay
    equal to the users' own, and every jump still lands where counting would."""
    forty.reset(staff.user_id)
    forty.add(
        [
            (FIRST[n % 3], LAST[n % 5], True, TYPES[n % 3], UserStatus.ACTIVE, None, None)
            for n in range(30)
        ]
    )
    make_marks(app, staff.sponsor_id)
    for kind, new, position in changes:
        others = sorted(forty.alive - {forty.staff_id})
        if kind == "add" or not others:
            forty.add(new)
            continue
        chosen = others[position % len(others)]
        if kind == "delete":
            forty.delete([position])
            continue
        with app.app_context():
            if kind == "rename":
                first, last = new[0][0], new[0][1]
                db.session.execute(
                    update(User)
                    .where(User.id == chosen)
                    .values(first_name=first, last_name=last, name_key=person_name_key(first, last))
                )
            elif kind == "status":
                user = db.session.get(User, chosen)
                user.status = new[0][4]
            elif kind == "type":
                db.session.execute(
                    update(User).where(User.id == chosen).values(user_type=new[0][3])
                )
            elif kind == "bulk":
                db.session.execute(
                    update(User)
                    .where(User.sponsor_id == forty.sponsor_id, User.id != forty.staff_id)
                    .values(status=new[0][4])
                )
            else:
                db.session.execute(
                    update(User).where(User.sponsor_id == forty.sponsor_id).values(name_key="a")
                )
                db.session.rollback()
                continue
            db.session.commit()
            for user in db.session.scalars(select(User).where(User.id.in_(forty.alive))):
                forty.rows[user.id] = forty._row(user, {})
        assert kept(app) == truth(app), kind
    expect_jumps(staff, forty, "status=active" if len(changes) % 2 else "")


def test_marks_are_made_for_large_sponsors_and_evened_out_when_spans_grow(
    app, staff, forty, make_sponsor, monkeypatch
):
    monkeypatch.setattr(marks, "MARK_SPACING", 10)
    monkeypatch.setattr(marks, "MARKS_FROM", 30)
    small = make_sponsor("Small")
    with app.app_context():
        # Ids past the test's own people, with room for the 21 added below (People gives each
        # new person the next id after its own). A fixed id collided with them when the
        # database's sequence had already reached it.
        db.session.add_all(
            User(
                id=max(forty.rows) + 100 + n,
                sponsor_id=small,
                email=f"s{n}@small.test",
                user_type=UserType.MENTOR,
                status=UserStatus.MANAGED,
            )
            for n in range(3)
        )
        db.session.execute(delete(UserMarkCount))
        db.session.execute(delete(UserMark))
        db.session.commit()
        assert marks.needing_marks() == [staff.sponsor_id]  # 41 users; Small has 3
        marks.maintain_marks()
        made = db.session.scalars(
            select(UserMark.n).where(UserMark.sponsor_id == staff.sponsor_id)
        ).all()
        assert made == [0, 1, 2, 3, 4] and marks.needing_marks() == []
        assert not db.session.scalar(select(func.count()).where(UserMark.sponsor_id == small))
    assert kept(app) == truth(app)
    # Twenty people added in one span: it is twice the spacing, so the marks are made again.
    forty.add([("Ana", "Aaron", True, UserType.MENTOR, UserStatus.ACTIVE, None, None)] * 21)
    with app.app_context():
        assert marks.needing_marks() == [staff.sponsor_id]
        marks.maintain_marks()
        assert marks.needing_marks() == []
        widest = db.session.scalar(
            select(func.max(UserMarkCount.count)).where(UserMarkCount.dimension == "all")
        )
        assert widest == 10
    assert kept(app) == truth(app)
    expect_jumps(staff, forty, "")
    # A sponsor deleted with its users leaves no marks and no counts behind.
    with app.app_context():
        db.session.execute(delete(User).where(User.sponsor_id == staff.sponsor_id))
        db.session.execute(delete(Sponsor).where(Sponsor.id == staff.sponsor_id))
        db.session.commit()
    assert kept(app) == Counter()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # SQLite here enforces no foreign keys
            assert not db.session.scalar(select(func.count()).select_from(UserMark))


def test_the_mail_worker_s_periodic_step_makes_the_marks(app, staff, forty, monkeypatch):
    from scope.mail.worker import run_periodic_steps

    monkeypatch.setattr(marks, "MARKS_FROM", 30)
    with app.app_context():
        db.session.execute(delete(UserMarkCount))
        db.session.execute(delete(UserMark))
        db.session.commit()
    run_periodic_steps(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserMark)) == 1 + 41 // 5_000
    assert kept(app) == truth(app)


@pytest.mark.real_commits  # threads
def test_writers_racing_each_other_keep_the_spans_exact(app, make_sponsor):
    """Four writers: inserts, deletes, renames across marks, status and type changes, bulk
    updates and rolled-back transactions, on two sponsors with marks every 4th user."""
    sponsors = [make_sponsor(f"Race {n}") for n in range(2)]
    with app.app_context():
        for sponsor in sponsors:
            db.session.add_all(
                User(
                    sponsor_id=sponsor,
                    email=f"seed{sponsor}-{n}@race.test",
                    first_name=FIRST[n % 3],
                    last_name=LAST[n % 5],
                    name_key=person_name_key(FIRST[n % 3], LAST[n % 5]),
                    user_type=TYPES[n % 3],
                    status=UserStatus.ACTIVE,
                )
                for n in range(30)
            )
            db.session.flush()
            marks.make_marks(sponsor, SPACING)
        db.session.commit()
        db.session.remove()
    lost = Counter()

    def write(seed: int) -> None:
        rng = random.Random(seed)
        with app.app_context():
            for step in range(50):
                sponsor = rng.choice(sponsors)
                some = (
                    select(User.id)
                    .where(User.sponsor_id == sponsor)
                    .order_by(func.random())
                    .limit(rng.randint(1, 5))
                )
                kind = rng.choice(["insert", "delete", "rename", "status", "type", "bulk", "undo"])
                first, last = rng.choice(FIRST), rng.choice(LAST)
                try:
                    if kind == "insert":
                        db.session.add(
                            User(
                                sponsor_id=sponsor,
                                email=f"w{seed}-{step}@race.test",
                                first_name=first,
                                last_name=last,
                                name_key=person_name_key(first, last),
                                user_type=rng.choice(TYPES),
                                status=rng.choice(list(UserStatus)),
                            )
                        )
                    elif kind == "delete":
                        db.session.execute(delete(User).where(User.id.in_(some.limit(1))))
                    elif kind == "rename":
                        db.session.execute(
                            update(User)
                            .where(User.id.in_(some))
                            .values(name_key=person_name_key(first, last))
                        )
                    elif kind == "status":
                        db.session.execute(
                            update(User)
                            .where(User.id.in_(some))
                            .values(status=rng.choice(list(UserStatus)))
                        )
                    elif kind == "type":
                        db.session.execute(
                            update(User)
                            .where(User.id.in_(some))
                            .values(user_type=rng.choice(TYPES))
                        )
                    elif kind == "bulk":
                        db.session.execute(
                            update(User)
                            .where(User.sponsor_id == sponsor, User.status == UserStatus.ACTIVE)
                            .values(status=UserStatus.DEACTIVATED)
                        )
                    else:
                        db.session.execute(
                            update(User).where(User.sponsor_id == sponsor).values(name_key="a")
                        )
                        db.session.rollback()
                        continue
                    db.session.commit()
                except DBAPIError as error:  # a deadlock or a busy database: nothing kept
                    db.session.rollback()
                    lost[kind] += 1
                    if "deadlock" not in str(error) and "locked" not in str(error):
                        raise
            db.session.remove()

    run_together([lambda seed=seed: write(seed) for seed in range(4)])
    assert kept(app) == truth(app)


def _new_user(sponsor: int, tag: str, n: int) -> dict:
    first, last = FIRST[n % 3], LAST[n % 5]
    return {
        "sponsor_id": sponsor,
        "email": f"{tag}{sponsor}-{n}@marks.test",
        "first_name": first,
        "last_name": last,
        "name_key": person_name_key(first, last),
        "user_type": TYPES[n % 3],
        "status": UserStatus.ACTIVE,
    }


def _seed_users(*sponsors: int) -> None:
    """Nine users for each sponsor (seed{sponsor}-0 … -8), committed."""
    db.session.execute(
        User.__table__.insert(), [_new_user(s, "seed", n) for s in sponsors for n in range(9)]
    )
    db.session.commit()


@needs_postgres  # SQLite has one writer whatever is locked
@pytest.mark.real_commits  # a second connection
def test_making_one_sponsor_s_marks_holds_up_only_that_sponsor_s_writers(app, make_sponsor):
    """While a sponsor's marks are made (3.4 s at a million users), its own users wait;
    another sponsor's logins, sign-ups and edits go on."""
    marked, other = make_sponsor("Marked"), make_sponsor("Other")
    users = User.__table__
    with app.app_context():
        _seed_users(marked, other)
        marks.make_marks(marked, SPACING)  # its transaction stays open: the lock is held
        with db.engine.connect() as writer:
            writer.execute(text("SET lock_timeout = '5s'"))
            writer.execute(users.insert(), [_new_user(other, "new", 1)])
            writer.execute(
                update(users).where(users.c.sponsor_id == other).values(status="deactivated")
            )
            writer.execute(delete(users).where(users.c.email == f"seed{other}-0@marks.test"))
            writer.commit()
        with db.engine.connect() as writer:
            writer.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(DBAPIError, match="lock timeout"):
                writer.execute(users.insert(), [_new_user(marked, "new", 2)])
            writer.rollback()
        db.session.commit()
        db.session.remove()
    assert kept(app) == truth(app)


@pytest.mark.real_commits  # threads
def test_writers_racing_the_making_of_marks_keep_the_spans_exact(app, make_sponsor):
    sponsor = make_sponsor("Remarked")
    users = User.__table__
    with app.app_context():
        db.session.execute(users.insert(), [_new_user(sponsor, "seed", n) for n in range(30)])
        db.session.commit()
        db.session.remove()

    def write(seed: int) -> None:
        rng = random.Random(seed)
        with app.app_context():
            for step in range(40):
                some = select(User.id).where(User.sponsor_id == sponsor).limit(2)
                kind = rng.choice(["insert", "delete", "rename", "status"])
                first, last = rng.choice(FIRST), rng.choice(LAST)
                try:
                    if kind == "insert":
                        db.session.execute(users.insert(), [_new_user(sponsor, f"w{seed}", step)])
                    elif kind == "delete":
                        db.session.execute(delete(User).where(User.id.in_(some.limit(1))))
                    elif kind == "rename":
                        db.session.execute(
                            update(User)
                            .where(User.id.in_(some.order_by(func.random())))
                            .values(name_key=person_name_key(first, last))
                        )
                    else:
                        db.session.execute(
                            update(User)
                            .where(User.id.in_(some.order_by(func.random())))
                            .values(status=rng.choice(list(UserStatus)))
                        )
                    db.session.commit()
                except DBAPIError as error:  # a deadlock or a busy database: nothing kept
                    db.session.rollback()
                    if "deadlock" not in str(error) and "locked" not in str(error):
                        raise
            db.session.remove()

    def remark() -> None:
        with app.app_context():
            for _ in range(8):
                try:
                    marks.make_marks(sponsor, SPACING)
                    db.session.commit()
                except DBAPIError as error:
                    db.session.rollback()
                    if "deadlock" not in str(error) and "locked" not in str(error):
                        raise
            db.session.remove()

    run_together([lambda seed=seed: write(seed) for seed in range(3)] + [remark])
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(UserMark).where(UserMark.sponsor_id == sponsor)
        )
        db.session.remove()
    assert kept(app) == truth(app)


@needs_postgres  # SQLite has one writer whatever is locked
@pytest.mark.real_commits  # a second connection
def test_the_periodic_step_leaves_a_sponsor_being_written_for_later(app, make_sponsor, monkeypatch):
    """Waiting for a sponsor's writer in flight would make every next writer of that sponsor
    (a login) queue behind the marks: the step moves on, and makes them the next time."""
    monkeypatch.setattr(marks, "MARKS_FROM", 8)
    busy, quiet = make_sponsor("Busy"), make_sponsor("Quiet")
    users = User.__table__
    with app.app_context():
        _seed_users(busy, quiet)
        db.session.remove()
    step_done = threading.Event()

    def periodic_step():
        with app.app_context():
            marks.maintain_marks()
            db.session.remove()
        step_done.set()

    with app.app_context(), db.engine.connect() as writer:  # Busy's login, not yet committed
        writer.execute(
            update(users)
            .where(users.c.email == f"seed{busy}-1@marks.test")
            .values(last_login_at=func.now())
        )
        step = threading.Thread(target=periodic_step)
        step.start()
        finished = step_done.wait(5)
        writer.commit()
    step.join(30)
    assert finished, "the periodic step waited for Busy's writer"
    with app.app_context():
        made = set(db.session.scalars(select(UserMark.sponsor_id)))
        assert quiet in made and busy not in made
        assert marks.needing_marks() == [busy]
        marks.maintain_marks()
        assert busy in set(db.session.scalars(select(UserMark.sponsor_id)))
        db.session.remove()
    assert kept(app) == truth(app)
