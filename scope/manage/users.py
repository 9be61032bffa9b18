"""MANAGE → Users: the listing, its filters and sorts, and the CSV export of what it shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, asc, case, desc, false, type_coerce

from .. import search
from ..extensions import db
from ..i18n import N_
from ..keyset import Order, Segment
from ..listing import Listing
from ..models import (
    Occupation,
    OrganizationKind,
    PartnerOrganization,
    User,
    UserStatus,
    UserType,
    full_name,
)
from ..partners import picker
from ..security import unproxied
from ..tenancy import current_sponsor_id, parse_id, scoped
from ..text import clean_line
from . import counts, marks
from .actions import UserAction, allowed_actions

USER_FILTERS = ("type", "status", "organization")
USER_SORTS = {
    "name": (User.name_key,),
    "email": (User.email,),
    "type": (User.user_type, User.name_key),
    "status": (User.status, User.name_key),
    "organization": (PartnerOrganization.name_key, PartnerOrganization.id, User.name_key),
    "last_login": (User.last_login_at, User.name_key),
}
# Columns that may be empty: empty values sort last whichever the direction.
_NULLABLE = {User.email, PartnerOrganization.name_key, User.last_login_at}

# The header of the export, in the language of whoever exports.
CSV_COLUMNS = (
    _l("Name"),
    _l("First name"),
    _l("Last name"),
    _l("Email"),
    _l("User type"),
    _l("Organization"),
    _l("Occupation"),
    _l("Status"),
    _l("Last login"),
)
# The export reads this many rows per round trip (on PostgreSQL from a server-side cursor)
# and writes a chunk of its body every _CHUNK_ROWS.
EXPORT_FETCH_ROWS = 5_000
_CHUNK_ROWS = 500
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_LINE_STARTS = tuple(f"\n{start}" for start in _FORMULA_STARTS)


def _clean_filters(listing: Listing) -> None:
    """Drop filter values that name nothing, so the URL and the page agree."""
    filters = listing.filters
    if filters.get("type") not in {t.value for t in UserType}:
        filters.pop("type", None)
    if filters.get("status") not in {s.value for s in UserStatus}:
        filters.pop("status", None)
    if parse_id(filters.get("organization")) is None:
        filters.pop("organization", None)


def _filtered(listing: Listing, *columns, where: list | None = None):
    """The current sponsor's users that the listing's search and filters select.

    Organization and occupation are joined only where the query needs them (the export's
    columns, the organization sort), so counting and paging read one index of user_account.
    """
    stmt = scoped(User, *columns).select_from(User)
    if columns or listing.sort == "organization":
        stmt = stmt.outerjoin(User.partner_organization)
    if columns:
        stmt = stmt.outerjoin(User.occupation)
    return stmt.where(*(_conditions(listing) if where is None else where))


def _conditions(listing: Listing) -> list:
    """WHERE terms for the listing's search and filters."""
    return search.conditions(listing.q) + _filter_terms(listing)


def _filter_terms(listing: Listing) -> list:
    """WHERE terms for the listing's filters alone."""
    terms = [false()] if listing.nobody else []
    filters = listing.filters
    if "type" in filters:
        terms.append(User.user_type == UserType(filters["type"]))
    if "status" in filters:
        terms.append(User.status == UserStatus(filters["status"]))
    if "organization" in filters:
        terms.append(User.partner_organization_id == int(filters["organization"]))
    return terms


# The words every row of MANAGE → Users repeats (each cell's label on a phone, its Actions
# button), worded once per table with i18n.translated: `w.name`.
ROW_WORDS = {
    "name": N_("Name"),
    "email": N_("Email"),
    "type": N_("User type"),
    "organization": N_("Organization"),
    "occupation": N_("Occupation"),
    "status": N_("Status"),
    "last_login": N_("Last login"),
    "never": N_("Never"),
    "actions": N_("Actions"),
    "select": N_("Select %(name)s"),
}

# Sorts whose first column is text: the table offers a jump to a letter.
LETTER_SORTS = ("name", "email", "organization")


class _Part(NamedTuple):
    """One part of a search's best matches: its condition; what tells its rows apart
    within the next part (the parts nest, so a statement never repeats a whole part to
    leave it out); whether it is a range of the name index (read from there in order)."""

    condition: Any
    mark: Any
    name_range: bool = False


def _best_first(listing: Listing) -> list[_Part]:
    """A search in name order shows the best matches first: people whose name starts with
    the whole search, as typed ("garcia ma": the Garcias called Ma…; search.name_starts),
    then the others whose name starts with its first word, then the others every word
    matches at the start of a word (search.word_starts), then the rest. The parts before
    the rest (none when the listing is not a search in name order)."""
    if not (listing.q and listing.sort == "name" and listing.direction == "asc"):
        return []
    best = search.word_starts(listing.q)
    if best is None:
        return []
    lead = search.name_starts(listing.q)
    if lead is None:
        return [_Part(best, best)]
    parts = [_Part(and_(lead, best), lead, True), _Part(best, best)]
    if len(listing.q.split()) > 1:
        # Whole words and the start of the next, in name order: every word starts a word of
        # the name, the first its start, so these are best matches led by the first word.
        # Said, not only implied: the two ranges nest in code point order, and need not
        # under another collation ("lope{" sorts before "lopez" in most languages).
        phrase = and_(search.name_starts(listing.q, whole=True), lead)
        parts.insert(0, _Part(phrase, phrase, True))
    return parts


def _matches_unordered() -> bool:
    """Whether a search's matches come from an index that keeps no name order: PostgreSQL's
    trigram index. SQLite walks the name index for a common word and stops once the page
    and its count are full, which a sort of every match could not."""
    return db.session.get_bind().dialect.name == "postgresql"


def _not(condition):
    """The rows where condition is not true (false or unknown)."""
    return case((condition, 1), else_=0) == 0


def _search_segments(listing: Listing, parts: list[_Part], users) -> list[Segment]:
    """A search in name order: each part of the best matches walked in name order (no sort
    of every match by rank: a common word matches thousands), then the rest.

    A part that is a range of the name index is read in order from there, without the
    search's own terms (they follow from the part's), which PostgreSQL would answer from
    the trigram index and sort every match. Each later part leaves the one before out by
    its mark. Where the matches come from an index that keeps no name order, the last part
    and the rest would each read every match and sort them: they are one segment there,
    sorted by whether the part holds, then by name.
    """
    keys = (User.name_key, User.id)
    ranges = scoped(User, User.id).where(*_filter_terms(listing))
    merged = None
    if not parts[-1].name_range and _matches_unordered():
        merged, parts = parts[-1], parts[:-1]
    segments, before = [], None
    for n, part in enumerate(parts, 1):
        source = ranges if part.name_range else users
        outside = [] if before is None else [_not(before)]
        # What holds for its rows and every earlier part's, never for the next's: its mark,
        # or before the merged segment (where the mark may hold) its whole condition.
        present = part.condition if merged is not None and n == len(parts) else part.mark
        segments.append(Segment(source.where(part.condition, *outside), keys, case((present, 1))))
        before = part.mark
    if merged is None:
        segments.append(Segment(users.where(*([] if before is None else [_not(before)])), keys))
    else:
        # Every match not in an earlier part. The mark of the part before would leave out
        # rows of the rest too (a Garcia whom "ma" does not match), so its whole condition.
        earlier = [_not(parts[-1].condition)] if parts else []
        rank = case((merged.condition, 0), else_=1)
        segments.append(Segment(users.where(*earlier), (rank, *keys)))
    return segments


def user_order(listing: Listing, where: list) -> Order:
    """The listing's order as keyset segments, each read in order from one index.

    Ties break by id in the sort's direction, so a descending order is the ascending one
    read backwards. Users without an email, a last login or an organization follow the
    others whichever the direction. Organization order walks the organizations in name
    order (ix_partner_organization_sponsor_name) and each one's users in name order
    (ix_user_account_sponsor_org): no sort of the sponsor's users joined to theirs.
    """
    users = scoped(User, User.id).where(*where)
    descending = listing.direction == "desc"
    parts = _best_first(listing)
    if parts:
        segments = _search_segments(listing, parts, users)
    elif listing.sort in ("type", "status"):
        column = User.user_type if listing.sort == "type" else User.status
        segments = [Segment(users, (column, User.name_key, User.id))]
    elif listing.sort == "email":
        segments = [
            Segment(users.where(User.email.is_not(None)), (User.email, User.id), User.email),
            Segment(users.where(User.email.is_(None)), (User.id,)),
        ]
    elif listing.sort == "last_login":
        login = User.last_login_at
        segments = [
            Segment(users.where(login.is_not(None)), (login, User.name_key, User.id), login),
            Segment(users.where(login.is_(None)), (User.name_key, User.id)),
        ]
    elif listing.sort == "organization":
        with_org = (
            scoped(PartnerOrganization, User.id)
            .select_from(PartnerOrganization)
            .join(
                User,
                and_(
                    User.partner_organization_id == PartnerOrganization.id,
                    User.sponsor_id == PartnerOrganization.sponsor_id,
                ),
            )
            .where(*where)
        )
        organization = (PartnerOrganization.name_key, PartnerOrganization.id)
        segments = [
            Segment(with_org, (*organization, User.name_key, User.id), PartnerOrganization.id),
            Segment(users.where(User.partner_organization_id.is_(None)), (User.name_key, User.id)),
        ]
    else:
        segments = [Segment(users, (User.name_key, User.id))]
    return Order(tuple(segments), descending)


def _order(listing: Listing) -> list:
    """The same order as one ORDER BY (the CSV export reads every row in one statement)."""
    way = desc if listing.direction == "desc" else asc
    parts = _best_first(listing)
    rank = [(part.condition, n) for n, part in enumerate(parts)]
    order = [case(*rank, else_=len(parts))] if parts else []
    for column in USER_SORTS[listing.sort]:
        term = way(column)
        order.append(term.nulls_last() if column in _NULLABLE else term)
    return [*order, way(User.id)]


class UserRow(NamedTuple):
    """A row of MANAGE → Users: plain columns, no ORM objects to build for 25 rows."""

    id: int
    first_name: str
    last_name: str
    email: str | None
    user_type: UserType
    status: UserStatus
    authentication_sent_at: datetime | None
    last_login_at: datetime | None
    organization_name: str | None
    occupation_name: str | None
    # What the row's Actions menu offers the staff member looking at it.
    actions: tuple[UserAction, ...] = ()

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name, self.email)

    def for_actor(self, actor: User) -> UserRow:
        return self._replace(actions=allowed_actions(self, actor))


def user_row(user: User, actor: User) -> UserRow:
    """The row of MANAGE → Users for one account, as the listing draws it."""
    return UserRow(
        user.id,
        user.first_name,
        user.last_name,
        user.email,
        user.user_type,
        user.status,
        user.authentication_sent_at,
        user.last_login_at,
        user.organization_name,
        user.occupation_name,
    ).for_actor(actor)


ROW_COLUMNS = (
    User.id,
    User.first_name,
    User.last_name,
    User.email,
    User.user_type,
    User.status,
    User.authentication_sent_at,
    User.last_login_at,
    PartnerOrganization.name,
    Occupation.name,
)


@dataclass
class OrganizationFilter:
    """The Organization filter as the page shows it: the organization picked (its name in
    the box), or what was typed and why it picks none, with the candidates."""

    organization_id: int | None = None
    text: str = ""
    refused: picker.NotPicked | None = None

    @property
    def picks_nobody(self) -> bool:
        """A typed name that picks no organization: the list shows no one, and says why."""
        return self.refused is not None and bool(self.text)


def organization_filter(
    listing: Listing, args: Mapping[str, str], *, acting: bool = False
) -> OrganizationFilter:
    """Read the Organization filter of a request's arguments (a combobox: hidden id
    `organization`, typed name `organization_name`, radio choice `organization_choice`) into
    the listing. A name that picks no one organization filters to no one, and says why: the
    listing keeps the name (its links, the export's among them, carry it) and selects nobody.

    `acting`: the query of an action on "select all N matching". A filter that no longer
    picks an organization (one deleted since the page was drawn) then selects no one too:
    the page showed that organization's rows, not everyone's."""
    value, choice = args.get("organization"), args.get("organization_choice")
    typed = args.get("organization_name")
    listing.filters.pop("organization", None)
    typed = clean_line(typed or "")[: picker.MAX_QUERY]
    if not value and not typed and not choice:
        return OrganizationFilter()
    try:
        organization = picker.pick(value, typed, choice=choice)
    except picker.NotPicked as refused:
        shown = OrganizationFilter(text=typed, refused=refused)
        if shown.picks_nobody:
            listing.filters["organization_name"] = typed
        if shown.picks_nobody or acting:
            listing.nobody = True
        return shown
    listing.filters["organization"] = str(organization.id)
    return OrganizationFilter(organization.id, organization.name)


def list_users(listing: Listing, actor: User) -> Listing:
    """One page of MANAGE → Users: UserRow items, organization and occupation joined."""
    _clean_filters(listing)
    order = user_order(listing, _conditions(listing))
    places = marks.places_for(listing, order.segments[0].source, current_sponsor_id())
    # The rows are loaded by the ids chosen above: the search and filters are not run again.
    listing.fetch_keyset(order, _filtered(listing, *ROW_COLUMNS, where=[]), places)
    if places is not None and places.loaded:  # the same exact total, already read
        listing.total, listing.capped = places.total, False
    else:
        counts.show_exact_total(listing)
    actor = unproxied(actor)  # every row asks who is looking
    listing.items = [UserRow(*row).for_actor(actor) for row in listing.items]
    return listing


def matching_ids(listing: Listing, limit: int) -> list[int]:
    """The ids of the users the listing's search and filters select ("select all N
    matching"), at most `limit`."""
    _clean_filters(listing)
    stmt = scoped(User, User.id).where(*_conditions(listing)).order_by(User.id).limit(limit)
    return list(db.session.scalars(stmt))


def export_csv(listing: Listing) -> Iterator[str]:
    """Every user the listing selects (all pages) as CSV text, produced a chunk at a time.

    A million rows are read in constant memory, EXPORT_FETCH_ROWS at a time, and written
    _CHUNK_ROWS at a time (about 56 KB of text). Types and statuses are read as their stored
    values and worded once per export, not twice per row.
    """
    _clean_filters(listing)
    stmt = _filtered(
        listing,
        User.first_name,
        User.last_name,
        User.email,
        type_coerce(User.user_type, String),
        PartnerOrganization.name,
        Occupation.name,
        type_coerce(User.status, String),
        User.last_login_at,
    ).order_by(*_order(listing))
    types = {kind.value: kind.label for kind in UserType}
    statuses = {status.value: status.label for status in UserStatus}
    # Core rows, read one by one: the ORM's loading and result.partitions()'s lists each
    # cost more than the rest of the row's work.
    result = db.session.connection().execute(stmt.execution_options(yield_per=EXPORT_FETCH_ROWS))
    # The byte-order mark lets spreadsheet programs read accented names as UTF-8.
    csv_text = CsvText()
    text = "\ufeff" + csv_text.rows([tuple(map(str, CSV_COLUMNS))])
    rows = iter(result)
    while batch := list(islice(rows, _CHUNK_ROWS)):
        text += csv_text.rows(
            [
                (
                    f"{first} {last}".strip(),
                    first,
                    last,
                    email or "",
                    types[kind],
                    organization or "",
                    occupation or "",
                    statuses[status],
                    _utc_minute(login) if login else "",
                )
                for first, last, email, kind, organization, occupation, status, login in batch
            ]
        )
        yield text
        text = ""
    yield text


class CsvText:
    """Rows of two text cells or more as csv.writer writes them, each cell through
    safe_cell.

    csv.writer reads every character of every cell: about 6 µs a row of the Users export
    on the benchmark machine, more than reading the row from the database. Here a chunk of
    rows is read a column at a time: a column where no cell holds a comma, a quote or a line
    break, or starts like a formula, is written as it is, found so by a few passes over its
    cells joined (C loops, no Python call per cell); a column with such a cell is written a
    cell at a time by csv.writer, each distinct cell once (an occupation's name repeats on
    every row of its people).
    """

    def __init__(self) -> None:
        self._cells = _CsvCells()

    def rows(self, rows: list[tuple[str, ...]]) -> str:
        if not rows:
            return ""
        columns = list(zip(*rows, strict=True))
        for index, column in enumerate(columns):
            if not _plain(column):
                columns[index] = tuple(map(self._cells.__getitem__, column))
        return "\r\n".join(map(",".join, zip(*columns, strict=True))) + "\r\n"


def _plain(cells: tuple[str, ...]) -> bool:
    """No cell needs quotes or the formula guard."""
    text = "\n".join(cells)
    return (
        text.count("\n") == len(cells) - 1
        and "," not in text
        and '"' not in text
        and "\r" not in text
        and not text.startswith(_FORMULA_STARTS)
        and not any(start in text for start in _FORMULA_LINE_STARTS)
    )


class _CsvCells(dict):
    """Cells as csv.writer writes them beside others, guarded: the last few thousand."""

    def __missing__(self, value: str) -> str:
        if len(self) >= 5_000:
            self.clear()
        buffer = io.StringIO()
        csv.writer(buffer).writerow((safe_cell(value), ""))
        cell = self[value] = buffer.getvalue()[: -len(",\r\n")]
        return cell


def _utc_minute(value: datetime) -> str:
    """2025-03-04 23:59 UTC: strftime's "%Y-%m-%d %H:%M UTC" (from year 1000 on) in a
    third of its time, in UTC whatever zone the database connection reads times in."""
    return value.astimezone(UTC).isoformat(" ", "minutes")[:16] + " UTC"


def safe_cell(value: str) -> str:
    value = value or ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def organization_options() -> dict[str, list]:
    """The sponsor's organizations for filters and the edit form, grouped by kind."""
    groups: dict[str, list] = {kind.plural: [] for kind in OrganizationKind}
    # Rows of (id, name, kind), not whole objects: a sponsor may have thousands.
    stmt = scoped(
        PartnerOrganization,
        PartnerOrganization.id,
        PartnerOrganization.name,
        PartnerOrganization.kind,
    ).order_by(PartnerOrganization.kind, PartnerOrganization.name_key)
    for organization in db.session.execute(stmt):
        groups[organization.kind.plural].append(organization)
    return groups
