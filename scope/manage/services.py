"""MANAGE → Users: listing, account actions, bulk actions, profile edits and history."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, and_, asc, delete, desc, exists, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit, search
from ..accounts.services import NoEmailAddress, end_account_links, send_set_password_link
from ..auth.services import end_all_sessions
from ..extensions import db
from ..listing import Listing
from ..models import (
    AccountToken,
    AuditEvent,
    Invitation,
    MailMessage,
    Occupation,
    OrganizationKind,
    PartnerOrganization,
    User,
    UserStatus,
    UserType,
    full_name,
)
from ..tenancy import parse_id, scoped

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

BULK_LIMIT = 1000
CSV_COLUMNS = (
    "Name",
    "First name",
    "Last name",
    "Email",
    "User type",
    "Organization",
    "Occupation",
    "Status",
    "Last login",
)
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ActionRefused(Exception):
    """The account is not in a state that allows this action; the message says why."""


class ProfileInvalid(Exception):
    """A profile edit breaks rules; errors maps form field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class TooManySelected(Exception):
    pass


# Listing and export --------------------------------------------------------------------


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


def _ids_by_organization(listing: Listing, where: list) -> Select:
    """User ids in organization order, read organization by organization.

    Sorting the sponsor's users joined to their organizations sorted every one of them on
    each request (25 ms at 100,000 users on SQLite). Walking the organizations in name
    order (ix_partner_organization_sponsor_name) and each one's users in name order
    (ix_user_account_sponsor_org) yields the same order from two indexes, without a sort.
    Users without an organization (staff) follow, as empty values always do. Each part is
    limited to the rows the page and its count can need, so each keeps its own order.
    """
    reach = listing.page * listing.page_size + listing.count_ahead + 1
    way = desc if listing.direction == "desc" else asc
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
        .order_by(
            way(PartnerOrganization.name_key),
            way(PartnerOrganization.id),
            way(User.name_key),
            User.id,
        )
        .limit(reach)
    )
    without_org = (
        scoped(User, User.id)
        .where(User.partner_organization_id.is_(None), *where)
        .order_by(way(User.name_key), User.id)
        .limit(reach)
    )
    # UNION ALL keeps its parts in the order given (both databases append the second part
    # to the first); tests/test_listing.py checks the order page by page on both.
    parts = union_all(select(with_org.subquery()), select(without_org.subquery()))
    return select(parts.subquery().c.id)


def _order(listing: Listing) -> list:
    order = []
    for column in USER_SORTS[listing.sort]:
        term = column.desc() if listing.direction == "desc" else column.asc()
        order.append(term.nulls_last() if column in _NULLABLE else term)
    return [*order, User.id]


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

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name, self.email)


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


def list_users(listing: Listing) -> Listing:
    """One page of MANAGE → Users: UserRow items, organization and occupation joined."""
    _clean_filters(listing)
    where = _conditions(listing)
    order = _order(listing)
    if listing.sort == "organization":
        ids = _ids_by_organization(listing, where)
    else:
        ids = scoped(User, User.id).where(*where).order_by(*order)
    # The rows are loaded by the ids chosen above: the search and filters are not run again.
    rows = _filtered(listing, *ROW_COLUMNS, where=[])
    listing.fetch(rows, order, scalars=False, ids=ids)
    listing.items = [UserRow(*row) for row in listing.items]
    return listing


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
                _safe_cell(value)
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


def _safe_cell(value: str) -> str:
    value = value or ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def organization_options() -> dict[str, list]:
    """The sponsor's organizations for filters and the edit form, grouped by kind."""
    groups: dict[str, list] = {"Employers": [], "Providers": []}
    # Rows of (id, name, kind), not whole objects: a sponsor may have thousands.
    stmt = scoped(
        PartnerOrganization,
        PartnerOrganization.id,
        PartnerOrganization.name,
        PartnerOrganization.kind,
    ).order_by(PartnerOrganization.kind, PartnerOrganization.name_key)
    for organization in db.session.execute(stmt):
        key = "Employers" if organization.kind is OrganizationKind.EMPLOYER else "Providers"
        groups[key].append(organization)
    return groups


def occupation_options() -> list[Occupation]:
    return list(db.session.scalars(scoped(Occupation).order_by(Occupation.name_key)))


# One account ----------------------------------------------------------------------------


def convert_to_authenticated(
    user: User, actor: User, custom_message: str | None = None
) -> MailMessage:
    """Email a managed user a link to set a password (AUTHENTICATE)."""
    if user.status is not UserStatus.MANAGED:
        raise ActionRefused(f"{user.full_name} is not a managed user.")
    if not user.email:
        raise ActionRefused(
            f"{user.full_name} has no email address. Add one with Edit first, then AUTHENTICATE."
        )
    try:
        return send_set_password_link(user, actor_id=actor.id, custom_message=custom_message)
    except NoEmailAddress:
        raise ActionRefused(f"{user.full_name} has no email address.") from None


def deactivate_user(user: User, actor: User) -> None:
    """The person can no longer log in; every session and unused link ends now."""
    if user.id == actor.id:
        raise ActionRefused("You cannot deactivate your own account.")
    if user.status is UserStatus.DEACTIVATED:
        raise ActionRefused(f"{user.full_name} is already deactivated.")
    previous = user.status
    user.status = UserStatus.DEACTIVATED
    end_all_sessions(user)
    # A set-password or recovery link must not turn a deactivated account back on.
    _end_links(user)
    audit.record("deactivated", user, actor_id=actor.id, previous_status=previous.value)


def _end_links(user: User) -> None:
    """Every unused set-password and recovery link of the account stops working."""
    end_account_links(user)
    # "authentication sent" would promise a link that no longer works.
    user.authentication_sent_at = None


def reactivate_user(user: User, actor: User) -> None:
    """Back to Active if the person has a password, otherwise back to Managed."""
    if user.status is not UserStatus.DEACTIVATED:
        raise ActionRefused(f"{user.full_name} is not deactivated.")
    user.status = UserStatus.ACTIVE if user.password_hash else UserStatus.MANAGED
    audit.record("reactivated", user, actor_id=actor.id, status=user.status.value)


def delete_user(user: User, actor: User) -> None:
    """Delete a managed user; the audit trail keeps who they were."""
    if user.status is not UserStatus.MANAGED:
        raise ActionRefused(f"Only managed users can be deleted; {user.full_name} is not one.")
    audit.record(
        "deleted",
        user,
        actor_id=actor.id,
        name=user.full_name,
        email=user.email,
        user_type=user.user_type.value,
    )
    # What the foreign keys do on PostgreSQL, done here too so SQLite (no FK checks) agrees.
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    for column in (
        MailMessage.user_id,
        AuditEvent.actor_id,
        Invitation.accepted_user_id,
        Invitation.invited_by_id,
    ):
        db.session.execute(
            update(column.class_)
            .where(column == user.id)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
    db.session.delete(user)
    db.session.flush()


# Many accounts --------------------------------------------------------------------------


def parse_ids(values: Iterable[str]) -> list[int]:
    """Distinct ids from a form; anything that is not a number is ignored."""
    ids = []
    for value in values:
        ident = parse_id((value or "").strip())
        if ident is not None:
            ids.append(ident)
    ids = list(dict.fromkeys(ids))
    if len(ids) > BULK_LIMIT:
        raise TooManySelected(f"Select at most {BULK_LIMIT:,} users at a time.")
    return ids


def selected_users(ids: list[int]) -> list[User]:
    """The current sponsor's users among ids; another sponsor's ids are simply not there."""
    if not ids:
        return []
    stmt = scoped(User).where(User.id.in_(ids)).order_by(User.name_key, User.id)
    return list(db.session.scalars(stmt))


@dataclass
class BulkResult:
    done: int = 0
    skipped: Counter = field(default_factory=Counter)

    def message(self, done_text: str) -> str:
        parts = [done_text]
        reasons = sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))
        parts += [f"{count:,} skipped: {reason}" for reason, count in reasons]
        return ", ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def convert_preview(users: list[User]) -> BulkResult:
    """What bulk Convert to Authenticated would do, without doing it."""
    result = BulkResult()
    for user in users:
        reason = _convert_skip_reason(user)
        if reason:
            result.skipped[reason] += 1
        else:
            result.done += 1
    return result


def _convert_skip_reason(user: User) -> str | None:
    if user.status is not UserStatus.MANAGED:
        return "not managed"
    if not user.email:
        return "no email"
    return None


def bulk_convert(users: list[User], actor: User, custom_message: str | None) -> str:
    """Queue a set-password email for every selected managed user that has an email."""
    result = BulkResult()
    for user in users:
        reason = _convert_skip_reason(user)
        if reason:
            result.skipped[reason] += 1
            continue
        send_set_password_link(user, actor_id=actor.id, custom_message=custom_message)
        result.done += 1
    return result.message(f"{_plural(result.done, 'email')} queued")


def bulk_deactivate(users: list[User], actor: User) -> str:
    result = BulkResult()
    for user in users:
        if user.id == actor.id:
            result.skipped["your own account"] += 1
        elif user.status is UserStatus.DEACTIVATED:
            result.skipped["already deactivated"] += 1
        else:
            deactivate_user(user, actor)
            result.done += 1
    return result.message(f"{_plural(result.done, 'user')} deactivated")


# Profile --------------------------------------------------------------------------------


_EMAIL_MESSAGE = "Enter an email address like name@example.org."
_EMAIL_TAKEN = "Another account already uses this email address."


def normalize_email(value: str) -> str | None:
    """A valid address, lower-cased, or None. No DNS lookups."""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _email_taken(email: str, user_id: int) -> bool:
    # Emails are logins, unique across the whole installation, not only this sponsor.
    stmt = select(User.id).where(User.email == email, User.id != user_id)
    return db.session.scalar(select(exists(stmt))) or False


def _scoped_exists(model, ident) -> bool:
    return bool(ident) and db.session.scalar(select(exists(scoped(model).where(model.id == ident))))


def update_profile(user: User, data: dict, actor: User) -> list[str]:
    """Apply an edit after checking every rule; nothing changes if one fails.

    Returns the names of the fields that changed; raises ProfileInvalid with every problem.
    """
    errors: dict[str, str] = {}
    email = None
    if data.get("email") and data["email"].strip().lower() == user.email:
        email = user.email  # unchanged: an address on file is not re-judged
    elif data.get("email"):
        email = normalize_email(data["email"])
        if email is None or len(email) > 254:
            errors["email"] = _EMAIL_MESSAGE
        elif _email_taken(email, user.id):
            errors["email"] = _EMAIL_TAKEN
    elif user.password_hash:
        errors["email"] = "This person logs in with their email address, so it cannot be empty."
    changes = {"first_name": data["first_name"], "last_name": data["last_name"], "email": email}
    if not user.is_staff:
        changes.update(_partner_fields(data, errors))
    if errors:
        raise ProfileInvalid(errors)
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    for name, value in changes.items():
        setattr(user, name, value)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Another request took the address between the check and the write.
        if email and _email_taken(email, user.id):
            raise ProfileInvalid({"email": _EMAIL_TAKEN}) from None
        raise
    if "email" in changed:
        _end_links(user)  # a link already sent must not reach the old address's owner
    if changed:
        audit.record("profile_updated", user, actor_id=actor.id, fields=changed)
    return changed


def _partner_fields(data: dict, errors: dict[str, str]) -> dict:
    """A partner user's type, organization and occupation; a staff type is not on offer."""
    try:
        user_type = UserType(data.get("user_type"))
    except ValueError:
        user_type = None
    if user_type is None or user_type is UserType.STAFF:
        errors["user_type"] = "Choose a user type from the list."
    organization_id = data.get("organization")
    if not _scoped_exists(PartnerOrganization, organization_id):
        errors["organization"] = "Choose the person's organization from the list."
    occupation_id = data.get("occupation") if user_type is UserType.MENTOR else None
    if user_type is UserType.MENTOR:
        if not occupation_id:
            errors["occupation"] = "A mentor needs an occupation. Choose one."
        elif not _scoped_exists(Occupation, occupation_id):
            errors["occupation"] = "Choose an occupation from the list."
    return {
        "user_type": user_type,
        "partner_organization_id": organization_id,
        "occupation_id": occupation_id,
    }


# History --------------------------------------------------------------------------------

# How each recorded action reads; "actor" phrases name who did it, the others say it all.
_PHRASES = {
    ("user_account", "created_managed"): ("Added as a managed user", "actor"),
    ("user_account", "created_from_invitation"): ("Signed up from the invitation", None),
    ("user_account", "authentication_sent"): ("Authentication email sent", "actor"),
    ("user_account", "authenticated"): ("Password set; the account is now Active", None),
    ("user_account", "password_changed"): ("Password changed", None),
    ("user_account", "password_reset"): ("Password reset with a recovery link", None),
    ("user_account", "deactivated"): ("Deactivated", "actor"),
    ("user_account", "reactivated"): ("Reactivated", "actor"),
    ("user_account", "profile_updated"): ("Profile edited", "actor"),
    ("invitation", "invited"): ("Invited", "actor"),
    ("invitation", "resent"): ("Invitation resent", "actor"),
    ("invitation", "reviewed"): ("Invitation opened", None),
    ("invitation", "delivery_failed"): ("Invitation email could not be delivered", None),
}
# Already told by created_from_invitation.
_HIDDEN = {("invitation", "accepted")}


@dataclass
class HistoryEntry:
    at: datetime
    text: str


def user_history(user: User, limit: int = 200) -> list[HistoryEntry]:
    """What happened to this account and its invitation, newest first, in the product's words."""
    invitation_ids = scoped(Invitation, Invitation.id).where(Invitation.accepted_user_id == user.id)
    stmt = (
        scoped(AuditEvent)
        .where(
            or_(
                and_(AuditEvent.subject_type == "user_account", AuditEvent.subject_id == user.id),
                and_(
                    AuditEvent.subject_type == "invitation",
                    AuditEvent.subject_id.in_(invitation_ids),
                ),
            )
        )
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    entries = []
    for event in db.session.scalars(stmt):
        key = (event.subject_type, event.action)
        if key in _HIDDEN:
            continue
        phrase, style = _PHRASES.get(key, (event.action.replace("_", " ").capitalize(), "actor"))
        if style == "actor":
            phrase = f"{phrase} by {_who(event, user)}"
        if key == ("user_account", "profile_updated") and event.details.get("fields"):
            labels = [_FIELD_LABELS.get(name, name) for name in event.details["fields"]]
            phrase = f"{phrase}: {', '.join(labels)}"
        entries.append(HistoryEntry(event.created_at, phrase))
    return entries


_FIELD_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "user_type": "user type",
    "partner_organization_id": "organization",
    "occupation_id": "occupation",
}


def _who(event: AuditEvent, user: User) -> str:
    if event.actor_id is None:
        return "System"
    if event.actor_id == user.id:
        return "the person themselves"
    return event.actor.full_name if event.actor else "System"
