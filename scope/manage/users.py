"""MANAGE → Users: the listing, its filters and sorts, and the CSV export of what it shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, asc, case, desc

from .. import search
from ..extensions import db
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
from ..tenancy import parse_id, scoped
from ..text import clean_line
from . import counts
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
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
    terms = search.conditions(listing.q)
    filters = listing.filters
    if "type" in filters:
        terms.append(User.user_type == UserType(filters["type"]))
    if "status" in filters:
        terms.append(User.status == UserStatus(filters["status"]))
    if "organization" in filters:
        terms.append(User.partner_organization_id == int(filters["organization"]))
    return terms


# Sorts whose first column is text: the table offers a jump to a letter.
LETTER_SORTS = ("name", "email", "organization")


def _best_first(listing: Listing):
    """A search in name order shows the best matches first (search.word_starts)."""
    if listing.q and listing.sort == "name" and listing.direction == "asc":
        return search.word_starts(listing.q)
    return None


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
    best = _best_first(listing)
    if best is not None:
        # The best matches, then the others, each walked in name order (no sort of every
        # match by rank: a common word matches thousands).
        segments = [
            Segment(users.where(best), (User.name_key, User.id), case((best, 1))),
            Segment(users.where(case((best, 1), else_=0) == 0), (User.name_key, User.id)),
        ]
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
    best = _best_first(listing)
    order = [] if best is None else [case((best, 0), else_=1)]
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


def organization_filter(listing: Listing, args: Mapping[str, str]) -> OrganizationFilter:
    """Read the Organization filter of a request's arguments (a combobox: hidden id
    `organization`, typed name `organization_name`, radio choice `organization_choice`) into
    the listing. A name that picks no one organization filters to no one, and says why."""
    value, choice = args.get("organization"), args.get("organization_choice")
    typed = args.get("organization_name")
    listing.filters.pop("organization", None)
    typed = clean_line(typed or "")[: picker.MAX_QUERY]
    if not value and not typed and not choice:
        return OrganizationFilter()
    try:
        organization = picker.pick(value, typed, choice=choice)
    except picker.NotPicked as refused:
        return OrganizationFilter(text=typed, refused=refused)
    listing.filters["organization"] = str(organization.id)
    return OrganizationFilter(organization.id, organization.name)


def list_users(listing: Listing, actor: User) -> Listing:
    """One page of MANAGE → Users: UserRow items, organization and occupation joined."""
    _clean_filters(listing)
    order = user_order(listing, _conditions(listing))
    # The rows are loaded by the ids chosen above: the search and filters are not run again.
    listing.fetch_keyset(order, _filtered(listing, *ROW_COLUMNS, where=[]))
    counts.show_exact_total(listing)
    listing.items = [UserRow(*row).for_actor(actor) for row in listing.items]
    return listing


def matching_ids(listing: Listing, limit: int) -> list[int]:
    """The ids of the users the listing's search and filters select ("select all N
    matching"), at most `limit`."""
    _clean_filters(listing)
    stmt = scoped(User, User.id).where(*_conditions(listing)).order_by(User.id).limit(limit)
    return list(db.session.scalars(stmt))


def export_csv(listing: Listing) -> Iterator[str]:
    """Every user the listing selects (all pages) as CSV text, produced a chunk at a time."""
    _clean_filters(listing)
    stmt = _filtered(
        listing,
        User.first_name,
        User.last_name,
        User.email,
        User.user_type,
        PartnerOrganization.name,
        Occupation.name,
        User.status,
        User.last_login_at,
    ).order_by(*_order(listing))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # The byte-order mark lets spreadsheet programs read accented names as UTF-8.
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    result = db.session.execute(stmt.execution_options(yield_per=500))
    for rows in result.partitions():
        for first, last, email, user_type, organization, occupation, status, last_login in rows:
            writer.writerow(
                safe_cell(value)
                for value in (
                    f"{first} {last}".strip(),
                    first,
                    last,
                    email or "",
                    user_type.label,
                    organization or "",
                    occupation or "",
                    status.label,
                    last_login.strftime("%Y-%m-%d %H:%M UTC") if last_login else "",
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


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
