"""Page marks of MANAGE → Users in name order: a typed page number or a jump to a letter
reaches any depth by reading at most one mark's span of the index.

Without marks, page 20,000 of a million users is found by reading the 500,000 index entries
before it, and "Jump to letter M" by counting the users before M. A sponsor with many users
has a mark at every MARK_SPACING-th user in name order (user_mark) and, for each mark, how
many users lie from it up to the next, in all and per status and type (user_mark_count). The
counts are kept exact by triggers in the transaction that changes the users (migration
0017q_user_marks), so the users before a mark are a sum of counts, and the rest of the way is
a walk of at most one mark's span. The marks themselves are only boundaries: users added,
renamed and deleted make the spans uneven, never wrong, and make_marks() evens them out
again when one grows to twice its size (the mail worker's periodic step, maintain_marks()).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, false, func, literal, select, text, tuple_

from ..extensions import db
from ..keyset import Bound
from ..listing import Listing
from ..models import User, UserCount, UserMark, UserMarkCount, UserStatus, UserType
from . import counts

MARK_SPACING = 5_000
# PostgreSQL's advisory lock of a sponsor's marks: (MARK_LOCK, sponsor id). Every statement
# that changes users takes it shared for their sponsors (migration 0017s_user_mark_lock).
MARK_LOCK = 17_019
# Below this many users the rows before a page are counted: a few thousand index entries.
MARKS_FROM = 4 * MARK_SPACING


@dataclass(frozen=True)
class Mark:
    name_key: str
    user_id: int
    # The listing's users from this mark up to the next.
    count: int
    # The mark sorts before the key asked about (a letter's).
    below: bool = False


@dataclass
class Places:
    """Where the rows of one listing of users in name order lie (no search; no filter, or
    one status or type), read from the sponsor's marks."""

    sponsor_id: int
    dimension: str
    value: str
    # The listing's user ids (its filter applied), ordered by (name_key, id) from an index.
    source: Select
    marks: list[Mark] = field(default_factory=list)
    # The listing's rows (user_count: exact), read by load().
    total: int = 0
    loaded: bool = False

    def load(self, key: str | None = None) -> bool:
        """Read the listing's exact total and the marks with their counts, and which marks
        sort before `key` (one statement). False when the sponsor has no marks (then rows
        are counted as without them; the total still holds)."""
        count = UserMarkCount
        total = (
            select(UserCount.count)
            .where(
                UserCount.sponsor_id == self.sponsor_id,
                UserCount.dimension == self.dimension,
                UserCount.value == self.value,
            )
            .scalar_subquery()
        )
        below = UserMark.name_key < key if key is not None else false()
        one = select(literal(1).label("one")).subquery()
        stmt = (
            select(
                func.coalesce(total, 0),
                UserMark.name_key,
                UserMark.user_id,
                func.coalesce(count.count, 0),
                below,
            )
            .select_from(one)
            .outerjoin(UserMark, UserMark.sponsor_id == self.sponsor_id)
            .outerjoin(
                count,
                (count.sponsor_id == UserMark.sponsor_id)
                & (count.n == UserMark.n)
                & (count.dimension == self.dimension)
                & (count.value == self.value),
            )
            .order_by(UserMark.n)
        )
        rows = db.session.execute(stmt).all()
        self.total, self.loaded = rows[0][0], True
        self.marks = [Mark(*row[1:]) for row in rows if row[1] is not None]
        return bool(self.marks)

    def start(self, offset: int, descending: bool) -> tuple[Bound | None, int]:
        """Where a walk starts to reach the row `offset` rows into display order (offset <
        total): past a bound (None: from the first row shown), skipping the rows returned."""
        spanned = sum(mark.count for mark in self.marks)  # the total, read with the marks
        position = spanned - 1 - offset if descending else offset  # in ascending order
        before, index = 0, 0
        while index + 1 < len(self.marks) and position >= before + self.marks[index].count:
            before += self.marks[index].count
            index += 1
        mark = self.marks[index]
        if not descending:
            return Bound(0, (mark.name_key, mark.user_id), inclusive=True), position - before
        skip = before + mark.count - 1 - position
        if index + 1 == len(self.marks):
            return None, skip
        following = self.marks[index + 1]
        return Bound(0, (following.name_key, following.user_id), inclusive=False), skip

    def before(self, bound: Bound, descending: bool) -> int:
        """How many rows come before a letter's bound in display order (load(key) first):
        ascending, those whose name key sorts before the letter; descending, those after it."""
        below = self._rows_below(bound.values[0])
        return self.total - below if descending else below

    def _rows_below(self, key: str) -> int:
        """The rows whose name key sorts before `key`: whole spans, then part of one."""
        before, last = 0, None
        for mark in self.marks:
            if not mark.below:
                break
            if last is not None:
                before += last.count
            last = mark
        if last is None:
            return 0
        within = self.source.where(
            tuple_(User.name_key, User.id) >= tuple_(literal(last.name_key), literal(last.user_id)),
            # Implied by the row comparison; it tells the planner that one span is read
            # (without it PostgreSQL expected a tenth of the table and read it in parallel).
            User.name_key >= last.name_key,
            User.name_key < key,
        )
        return before + db.session.scalar(select(func.count()).select_from(within.subquery()))


def places_for(listing: Listing, source: Select, sponsor_id: int) -> Places | None:
    """The listing's places, when marks can hold them: name order, no search, and no filter
    or one status or type filter (an organization's users are few enough to count)."""
    if listing.q or listing.sort != "name":
        return None
    key = counts.counted(listing)
    if key is None or key[0] == "organization":
        return None
    return Places(sponsor_id, *key, source)


_MAKE_MARKS = """
    INSERT INTO user_mark (sponsor_id, n, name_key, user_id)
    SELECT :sponsor, 0, '', 0
    UNION ALL
    SELECT :sponsor, rn / :spacing, name_key, id FROM (
        SELECT name_key, id, row_number() OVER (ORDER BY name_key, id) - 1 AS rn
        FROM user_account WHERE sponsor_id = :sponsor) AS ranked
    WHERE rn > 0 AND rn % :spacing = 0
"""
# Each span's users of one status (or type), counted from the index that holds that status
# in name order (ix_user_account_sponsor_status, _type): index entries alone, no table rows,
# no sort. The last span has no end.
_COUNT_SPAN = """
    SELECT b.n, '{dimension}' AS dimension, v.value, (
        SELECT count(*) FROM user_account AS u
        WHERE u.sponsor_id = :sponsor AND u.{column} = v.value
          AND (u.name_key, u.id) >= (b.name_key, b.user_id) {end}) AS count
    FROM spans AS b CROSS JOIN ({values}) AS v
    WHERE b.next_key IS {last} NULL
"""
_SPANS = """
    WITH spans AS (
        SELECT n, name_key, user_id, lead(name_key) OVER (ORDER BY n) AS next_key,
               lead(user_id) OVER (ORDER BY n) AS next_id
        FROM user_mark WHERE sponsor_id = :sponsor)
"""


def _count_spans() -> str:
    """The INSERT of every span's counts: per status, per type, and in all."""
    parts = []
    for dimension, column, values in (
        ("status", "status", [s.value for s in UserStatus]),
        ("type", "user_type", [t.value for t in UserType]),
    ):
        listed = " UNION ALL ".join(f"SELECT '{value}' AS value" for value in values)
        for last, end in (
            ("NOT", "AND (u.name_key, u.id) < (b.next_key, b.next_id)"),
            ("", ""),
        ):
            parts.append(
                _COUNT_SPAN.format(
                    dimension=dimension, column=column, values=listed, last=last, end=end
                )
            )
    counted = " UNION ALL ".join(parts)
    return f"""
        {_SPANS}, counted AS ({counted})
        INSERT INTO user_mark_count (sponsor_id, n, dimension, value, count)
        SELECT :sponsor, n, dimension, value, count FROM counted
        UNION ALL SELECT :sponsor, n, 'all', '', sum(count) FROM counted
            WHERE dimension = 'status' GROUP BY n
    """


def make_marks(sponsor_id: int, spacing: int | None = None, wait: bool = True) -> bool:
    """Mark every `spacing`-th of the sponsor's users in name order and count the spans, in
    the session's transaction. None of the sponsor's users may change meanwhile: on
    PostgreSQL this takes the sponsor's mark lock, which waits for the sponsor's writers in
    flight and makes the next ones wait until the transaction ends (other sponsors' users
    are not held up); SQLite has one writer. Without `wait`, a sponsor whose users are being
    changed right now is left as it is (False): nobody queues behind the marks."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = {"lock": MARK_LOCK, "sponsor": sponsor_id}
        if wait:
            db.session.execute(text("SELECT pg_advisory_xact_lock(:lock, :sponsor)"), key)
        elif not db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:lock, :sponsor)"), key):
            return False
    for model in (UserMarkCount, UserMark):
        db.session.execute(model.__table__.delete().where(model.sponsor_id == sponsor_id))
    params = {"sponsor": sponsor_id, "spacing": spacing or MARK_SPACING}
    db.session.execute(text(_MAKE_MARKS), params)
    db.session.execute(text(_count_spans()), params)
    # Statistics for tables that were empty: without them PostgreSQL read every count
    # of every mark for each page (30 ms at a million users instead of 0.7).
    for table in ("user_mark", "user_mark_count"):
        db.session.execute(text(f"ANALYZE {table}"))
    return True


def needing_marks() -> list[int]:
    """Sponsors with enough users whose marks are missing or whose widest span has grown to
    twice the spacing (or whose spans have shrunk to half of it on average)."""
    marks = (
        select(func.count()).where(UserMark.sponsor_id == UserCount.sponsor_id).scalar_subquery()
    )
    widest = (
        select(func.max(UserMarkCount.count))
        .where(
            UserMarkCount.sponsor_id == UserCount.sponsor_id,
            UserMarkCount.dimension == "all",
        )
        .scalar_subquery()
    )
    stmt = select(UserCount.sponsor_id, UserCount.count, marks, widest).where(
        UserCount.dimension == "all", UserCount.count >= MARKS_FROM
    )
    spacing = MARK_SPACING
    return [
        sponsor_id
        for sponsor_id, users, made, span in db.session.execute(stmt)
        if not made or (span or 0) > 2 * spacing or made > 2 * users // spacing + 1
    ]


def maintain_marks() -> None:
    """The periodic step: make the marks of each sponsor that needs them, one transaction
    each. A sponsor whose users are being changed (or whose marks another process is making)
    is left for the next step rather than waited for: its writers would queue behind."""
    for sponsor_id in needing_marks():
        if make_marks(sponsor_id, wait=False):
            db.session.commit()
        else:
            db.session.rollback()
