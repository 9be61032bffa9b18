"""MANAGE → Invitations as a list: the Status and other filters (dates in the viewer's zone),
the page, "select all N matching", the Invited by choices and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext
from sqlalchemy.orm import aliased, joinedload

from .. import zones
from ..extensions import db
from ..listing import Listing
from ..models import (
    Invitation,
    InvitationState,
    Occupation,
    PartnerOrganization,
    User,
    UserType,
    utcnow,
)
from ..tenancy import parse_id, scoped
from .invitations import (
    CSV_COLUMNS,
    DEFAULT_STATUS,
    INVITATION_SORTS,
    STATUSES,
    invitation_status,
    visible_invitations,
)
from .users import safe_cell

# Filters ----------------------------------------------------------------------------------


def clean_filters(listing: Listing) -> dict[str, str]:
    """Drop filter values that name nothing, so the URL and the page agree; the dates that
    are not dates come back as messages for their fields."""
    filters = listing.filters
    problems: dict[str, str] = {}
    if filters.get("status") not in STATUSES:
        filters["status"] = DEFAULT_STATUS
    if filters.get("type") not in {t.value for t in UserType}:
        filters.pop("type", None)
    for name in ("organization", "invited_by"):
        if name in filters and parse_id(filters[name]) is None:
            filters.pop(name)
    for name in ("sent_from", "sent_to"):
        if name in filters and _day(filters[name]) is None:
            problems[name] = gettext("Enter a date as YYYY-MM-DD, or leave it empty.")
            filters.pop(name)
    both = "sent_from" in filters and "sent_to" in filters
    if both and _day(filters["sent_to"]) < _day(filters["sent_from"]):
        problems["sent_to"] = gettext("This date is before the “from” date.")
        filters.pop("sent_to")
    return problems


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def local_day_start(day: date, zone_name: str | None = None) -> datetime:
    """The UTC moment a day starts in the viewer's zone (a DST change day included)."""
    start = datetime.combine(day, time(), tzinfo=zones.zone(zone_name or zones.viewer()))
    return start.astimezone(UTC)


def _conditions(listing: Listing, now: datetime) -> list:
    """WHERE terms for the listing's search and (clean) filters."""
    filters = listing.filters
    terms = []
    if listing.q:
        terms.append(Invitation.email.contains(listing.q.lower(), autoescape=True))
    status = filters.get("status", DEFAULT_STATUS)
    pending = Invitation.state == InvitationState.PENDING
    if status == "pending":
        terms.append(pending)
    elif status == "expired":
        terms += [pending, Invitation.expires_at <= now]
    elif status == "reviewed":
        terms += [pending, Invitation.expires_at > now, Invitation.reviewed_at.is_not(None)]
    elif status == "sent":
        terms += [pending, Invitation.expires_at > now, Invitation.reviewed_at.is_(None)]
    elif status == "accepted":
        terms.append(Invitation.state == InvitationState.ACCEPTED)
    elif status == "revoked":
        terms.append(Invitation.state == InvitationState.REVOKED)
    if "type" in filters:
        terms.append(Invitation.user_type == UserType(filters["type"]))
    if "organization" in filters:
        terms.append(Invitation.partner_organization_id == int(filters["organization"]))
    if "invited_by" in filters:
        terms.append(Invitation.invited_by_id == int(filters["invited_by"]))
    if "sent_from" in filters:
        terms.append(Invitation.sent_at >= local_day_start(_day(filters["sent_from"])))
    if "sent_to" in filters:
        end = _day(filters["sent_to"]) + timedelta(days=1)
        terms.append(Invitation.sent_at < local_day_start(end))
    return terms


def _filtered(listing: Listing):
    return (
        visible_invitations()
        .outerjoin(
            PartnerOrganization, Invitation.partner_organization_id == PartnerOrganization.id
        )
        .where(*_conditions(listing, utcnow()))
    )


def _order(listing: Listing) -> list:
    columns = INVITATION_SORTS[listing.sort]
    order = [c.desc() if listing.direction == "desc" else c.asc() for c in columns]
    return [*order, Invitation.id]


def list_invitations(listing: Listing) -> Listing:
    stmt = _filtered(listing).options(
        joinedload(Invitation.partner_organization),
        joinedload(Invitation.invited_by),
        joinedload(Invitation.occupation),
        joinedload(Invitation.revoked_by),
        joinedload(Invitation.accepted_user),
    )
    return listing.fetch(stmt, _order(listing))


def matching_ids(listing: Listing, limit: int) -> list[int]:
    """The ids of the invitations the listing's filters select ("select all N matching"),
    at most `limit`, in display order."""
    stmt = _filtered(listing).with_only_columns(Invitation.id).order_by(*_order(listing))
    return list(db.session.scalars(stmt.limit(limit)))


def inviter_options() -> list:
    """Who has sent this sponsor's invitations, for the Invited by filter: (id, name) rows."""
    stmt = (
        scoped(User, User.id, User.first_name, User.last_name, User.email)
        .where(
            User.id.in_(
                visible_invitations().with_only_columns(Invitation.invited_by_id).distinct()
            )
        )
        .order_by(User.name_key, User.id)
    )
    return [
        (row.id, f"{row.first_name} {row.last_name}".strip() or row.email)
        for row in db.session.execute(stmt)
    ]


def export_csv(listing: Listing) -> Iterator[str]:
    """Every invitation the listing selects (all pages) as CSV text, a chunk at a time,
    with the conventions of the Users export (BOM, formula-safe cells, times in UTC)."""
    inviter = aliased(User)
    now = utcnow()
    stmt = (
        _filtered(listing)
        .outerjoin(Occupation, Invitation.occupation_id == Occupation.id)
        .outerjoin(inviter, Invitation.invited_by_id == inviter.id)
        .with_only_columns(
            Invitation,
            Occupation.name,
            PartnerOrganization.name,
            inviter.first_name,
            inviter.last_name,
        )
        .order_by(*_order(listing))
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    result = db.session.execute(stmt.execution_options(yield_per=500))
    for rows in result.partitions():
        for invitation, occupation, organization, first, last in rows:
            writer.writerow(
                safe_cell(value)
                for value in (
                    invitation.email,
                    invitation.user_type.label,
                    occupation or "",
                    organization or gettext("Staff (teammate)"),
                    f"{first or ''} {last or ''}".strip(),
                    _utc(invitation.sent_at),
                    _utc(invitation.expires_at),
                    str(STATUSES[invitation_status(invitation, now)]),
                    str(invitation.resend_count or 0),
                    _utc(invitation.accepted_at),
                    _utc(invitation.revoked_at),
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
