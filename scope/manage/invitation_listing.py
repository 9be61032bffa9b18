"""MANAGE → Invitations as a list: the Status and other filters (dates in the viewer's zone),
the page, "select all N matching", the Invited by choices and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext
from sqlalchemy import false, select, union_all
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from .. import zones
from ..extensions import db
from ..i18n import N_
from ..listing import Listing
from ..models import (
    INVITATION_VALIDITY,
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

# The words every row of MANAGE → Invitations repeats (each cell's label on a phone, its
# Actions button), worded once per table with i18n.translated: `w.email`.
ROW_WORDS = {
    "email": N_("Email"),
    "type": N_("User type"),
    "organization": N_("Organization"),
    "invited_by": N_("Invited by"),
    "sent": N_("Sent"),
    "status": N_("Status"),
    "delivery": N_("Delivery"),
    "actions": N_("Actions"),
    "teammate": N_("Staff (teammate)"),
    "select": N_("Select %(name)s"),
}

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
    terms = [false()] if listing.nobody else []
    if listing.q:
        terms.append(Invitation.email.contains(listing.q.lower(), autoescape=True))
    status = filters.get("status", DEFAULT_STATUS)
    pending = Invitation.state == InvitationState.PENDING
    if status == "pending":
        terms.append(pending)
    elif status == "expired":
        terms += [pending, Invitation.expires_at <= now]
    elif status == "reviewed":
        terms += [pending, _not_expired(now), Invitation.reviewed_at.is_not(None)]
    elif status == "sent":
        terms += [pending, _not_expired(now), Invitation.reviewed_at.is_(None)]
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
    # A day long before or after any invitation (0001-01-01, 9999-12-31) bounds nothing: the
    # moment it starts or ends in the viewer's zone may not be a time Python can hold.
    if "sent_from" in filters and (start := _day(filters["sent_from"])) > _UNBOUNDED_BEFORE:
        terms.append(Invitation.sent_at >= local_day_start(start))
    if "sent_to" in filters and (end := _day(filters["sent_to"])) < _UNBOUNDED_AFTER:
        terms.append(Invitation.sent_at < local_day_start(end + timedelta(days=1)))
    return terms


_UNBOUNDED_BEFORE, _UNBOUNDED_AFTER = date(1900, 1, 1), date(9000, 1, 1)


def _not_expired(now: datetime):
    """expires_at > now, as a check on the rows walked in the listing's order. SQLite chose
    the expiry-notice index for it, read every invitation not yet expired and sorted them
    (38 ms at 50,000 invitations); its unary + keeps a column out of index choices."""
    if db.session.get_bind().dialect.name != "sqlite":
        return Invitation.expires_at > now
    unindexed = UnaryExpression(
        Invitation.expires_at, operator=operators.custom_op("+"), type_=Invitation.expires_at.type
    )
    return unindexed > now


def _filtered(listing: Listing, now: datetime | None = None):
    return (
        visible_invitations()
        .outerjoin(
            PartnerOrganization, Invitation.partner_organization_id == PartnerOrganization.id
        )
        .where(*_conditions(listing, now or utcnow()))
    )


def _order(listing: Listing) -> list:
    columns = INVITATION_SORTS[listing.sort]
    order = [c.desc() if listing.direction == "desc" else c.asc() for c in columns]
    return [*order, Invitation.id]


# Past this many validities (expires_at − sent_at) among pending invitations, the Expired
# filter walks the listing index as the other filters do.
MAX_VALIDITIES = 8
# expires_at − sent_at in whole seconds, as ix_invitation_validity holds it.
validity = INVITATION_VALIDITY


def _validities() -> list[int] | None:
    """The validities (whole seconds) the sponsor's pending invitations were sent with,
    each found by one probe of ix_invitation_validity; None past MAX_VALIDITIES."""
    pending = (
        scoped(Invitation, validity)
        .where(Invitation.state == InvitationState.PENDING)
        .order_by(validity)
        .limit(1)
    )
    found = select(pending.scalar_subquery().label("seconds")).cte("validities", recursive=True)
    following = pending.where(validity > found.c.seconds).scalar_subquery()
    found = found.union_all(select(following).where(found.c.seconds.is_not(None)))
    stmt = select(found.c.seconds).where(found.c.seconds.is_not(None))
    seconds = list(db.session.scalars(stmt.limit(MAX_VALIDITIES + 1)))
    return seconds if len(seconds) <= MAX_VALIDITIES else None


def expired_ids(listing: Listing, now: datetime):
    """The Expired filter newest first, as Listing.fetch's id walk (None for any other
    status or order). An invitation sent with validity v has expired when it was sent
    before now − v: per validity, one range of ix_invitation_validity read in sent order
    (rounding to seconds moves that bound by at most half a second, so the range reaches
    one second further and expires_at <= now still decides). The ranges' first rows,
    merged, are the newest expired invitations: no walk past those not yet expired."""
    if (
        listing.filters.get("status") != "expired"
        or listing.sort != "sent"
        or listing.direction != "desc"
    ):
        return None
    validities = _validities()
    if validities is None:
        return None
    order = _order(listing)
    reach = (listing.page - 1) * listing.page_size + listing.count_ahead + 1
    ranges = [
        _filtered(listing, now)
        .with_only_columns(Invitation.id, Invitation.sent_at)
        .where(
            validity == seconds,
            Invitation.sent_at <= now - timedelta(seconds=seconds - 1),
        )
        .order_by(*order)
        .limit(reach)
        .subquery()
        for seconds in validities
    ]
    if not ranges:
        return select(Invitation.id).where(false())
    merged = union_all(*(select(r.c.id, r.c.sent_at) for r in ranges)).subquery()
    return select(merged.c.id).order_by(merged.c.sent_at.desc(), merged.c.id)


# What a row shows of the people it names (their names): not every column of each account
# and of its sponsor, three times a row.
_NAMED = (User.first_name, User.last_name, User.email)


def list_invitations(listing: Listing) -> Listing:
    now = utcnow()
    stmt = _filtered(listing, now).options(
        joinedload(Invitation.partner_organization).load_only(PartnerOrganization.name),
        joinedload(Invitation.occupation).load_only(Occupation.name),
        *(
            joinedload(person).load_only(*_NAMED).lazyload(User.sponsor)
            for person in (Invitation.invited_by, Invitation.revoked_by, Invitation.accepted_user)
        ),
    )
    return listing.fetch(stmt, _order(listing), ids=expired_ids(listing, now))


def matching_ids(listing: Listing, limit: int) -> list[int]:
    """The ids of the invitations the listing's filters select ("select all N matching"),
    at most `limit`, in display order."""
    stmt = _filtered(listing).with_only_columns(Invitation.id).order_by(*_order(listing))
    return list(db.session.scalars(stmt.limit(limit)))


def inviter_options() -> list:
    """Who has sent this sponsor's invitations, for the Invited by filter: (id, name) rows."""
    stmt = (
        scoped(User, User.id, User.first_name, User.last_name, User.email)
        .where(User.id.in_(_inviter_ids()))
        .order_by(User.name_key, User.id)
    )
    return [
        (row.id, f"{row.first_name} {row.last_name}".strip() or row.email)
        for row in db.session.execute(stmt)
    ]


def _inviter_ids():
    """The distinct inviters of the visible invitations, one step of ix_invitation_inviter
    each (a loose index scan: each step asks for the next inviter after the one found). A
    DISTINCT read all 500,000 invitations of a sponsor for a few hundred inviters (96 ms)."""
    inviter = Invitation.invited_by_id
    visible = visible_invitations().with_only_columns(inviter).order_by(inviter).limit(1)
    first = visible.where(inviter.is_not(None)).scalar_subquery()
    steps = select(first.label("id")).cte("inviters", recursive=True)
    after = visible.where(inviter > steps.c.id).scalar_subquery()
    steps = steps.union_all(select(after).where(steps.c.id.is_not(None)))
    return select(steps.c.id).where(steps.c.id.is_not(None))


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
