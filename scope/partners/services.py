"""Partner organizations: the rules, independent of any request (occupations: occupations.py)."""

from __future__ import annotations

from flask_babel import gettext, ngettext
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..i18n import N_
from ..listing import Listing
from ..models import (
    Invitation,
    InvitationState,
    OrganizationKind,
    PartnerOrganization,
    PublicLink,
    User,
    WizardDraft,
    WizardRow,
    utcnow,
)
from ..refusals import Refused
from ..templating import format_number, joined_by_and
from ..tenancy import scoped
from ..text import name_key

ORGANIZATION_FIELDS = (
    "name",
    "dba_name",
    "ein",
    "street",
    "city",
    "state",
    "zip_code",
    "phone",
    "website",
    "contact_name",
    "contact_email",
    "contact_phone",
    "notes",
    "naics_code",
)

ORGANIZATION_SORTS = {
    "name": (PartnerOrganization.name_key,),
    "city": (PartnerOrganization.city, PartnerOrganization.name_key),
    "created": (PartnerOrganization.created_at,),
}


class DuplicateName(Refused):
    """Another record of the same kind in this sponsor already has this name."""

    field = "name"


def _organization_name_taken(
    sponsor_id: int, kind: OrganizationKind, key: str, exclude_id: int | None = None
) -> bool:
    stmt = select(PartnerOrganization.id).where(
        PartnerOrganization.sponsor_id == sponsor_id,
        PartnerOrganization.kind == kind,
        PartnerOrganization.name_key == key,
    )
    if exclude_id is not None:
        stmt = stmt.where(PartnerOrganization.id != exclude_id)
    return db.session.scalar(select(exists(stmt))) or False


def _duplicate(kind: OrganizationKind, name: str) -> DuplicateName:
    return DuplicateName(gettext(_DUPLICATE[kind], name=name))


_DUPLICATE = {
    OrganizationKind.EMPLOYER: N_("An employer named “%(name)s” already exists."),
    OrganizationKind.PROVIDER: N_("An education provider named “%(name)s” already exists."),
}


def _save(change, taken, duplicate: DuplicateName) -> None:
    """Make the change and flush it in a savepoint; a unique-key race another request won
    becomes `duplicate`, and the change is undone with the savepoint."""
    try:
        with db.session.begin_nested():
            change()
            db.session.flush()
    except IntegrityError:
        if taken():
            raise duplicate from None
        raise


def create_organization(sponsor_id: int, kind: OrganizationKind, data: dict) -> PartnerOrganization:
    key = name_key(data["name"])

    def taken():
        return _organization_name_taken(sponsor_id, kind, key)

    if taken():
        raise _duplicate(kind, data["name"])
    organization = PartnerOrganization(sponsor_id=sponsor_id, kind=kind, name_key=key)
    _assign(organization, data, kind)
    _save(lambda: db.session.add(organization), taken, _duplicate(kind, data["name"]))
    return organization


def update_organization(
    organization: PartnerOrganization, data: dict, actor: User
) -> PartnerOrganization:
    """Apply an edit of the profile; the name stays unique within its kind. Fields absent
    from `data` (a partner administrator's form has no name or notes) stay as they are."""
    data = {"name": organization.name, **data}
    key = name_key(data["name"])
    kind = organization.kind

    def taken():
        return _organization_name_taken(organization.sponsor_id, kind, key, organization.id)

    if taken():
        raise _duplicate(kind, data["name"])

    changed = []

    def change():
        organization.name_key = key
        changed.extend(_assign(organization, data, kind))

    _save(change, taken, _duplicate(kind, data["name"]))
    if changed:
        audit.record("organization_updated", organization, actor_id=actor.id, fields=changed)
    return organization


def _assign(organization: PartnerOrganization, data: dict, kind: OrganizationKind) -> list[str]:
    """Set the fields `data` has; the names of those whose value changed."""
    changed = []
    for field in ORGANIZATION_FIELDS:
        if field == "naics_code" and kind is not OrganizationKind.EMPLOYER:
            continue
        if field in data and getattr(organization, field) != data[field]:
            setattr(organization, field, data[field])
            changed.append(field)
    return changed


def list_organizations(kind: OrganizationKind, listing: Listing) -> Listing:
    """Archived ones only when the listing asks for them (filter archived=1)."""
    stmt = scoped(PartnerOrganization).where(PartnerOrganization.kind == kind)
    if listing.filters.get("archived") != "1":
        stmt = stmt.where(PartnerOrganization.archived_at.is_(None))
    if listing.q:
        stmt = stmt.where(
            PartnerOrganization.name_key.contains(name_key(listing.q), autoescape=True)
        )
    columns = ORGANIZATION_SORTS[listing.sort]
    order = [c.desc() if listing.direction == "desc" else c.asc() for c in columns]
    return listing.fetch(stmt, [*order, PartnerOrganization.id])


def organization_users(organization: PartnerOrganization) -> list[User]:
    """Its people in name order, each with the occupation its row shows (one statement)."""
    stmt = (
        scoped(User)
        .where(User.partner_organization_id == organization.id)
        .options(joinedload(User.occupation))
        .order_by(User.name_key, User.id)
    )
    return list(db.session.scalars(stmt))


class OrganizationRefused(Refused):
    """Archive, restore or delete cannot be done to this organization now; says why."""


def archive_organization(organization: PartnerOrganization, actor: User) -> None:
    """Out of pickers and lists; its people, invitations and history stay as they are."""
    if organization.archived_at is not None:
        raise OrganizationRefused(gettext("%(name)s is already archived.", name=organization.name))
    organization.archived_at = utcnow()
    audit.record("organization_archived", organization, actor_id=actor.id)


def restore_organization(organization: PartnerOrganization, actor: User) -> None:
    if organization.archived_at is None:
        raise OrganizationRefused(gettext("%(name)s is not archived.", name=organization.name))
    organization.archived_at = None
    audit.record("organization_restored", organization, actor_id=actor.id)


def _counted(model, count: int) -> str:
    """One kind of reference counted in words: "3 users", "1 person on an INVITE list"."""
    number = format_number(count)
    if model is User:
        return ngettext("%(count)s user", "%(count)s users", count, count=number)
    if model is Invitation:
        return ngettext("%(count)s invitation", "%(count)s invitations", count, count=number)
    if model is PublicLink:
        return ngettext("%(count)s public link", "%(count)s public links", count, count=number)
    return ngettext(
        "%(count)s person on an INVITE list",
        "%(count)s people on an INVITE list",
        count,
        count=number,
    )


def count_references(ident: int, columns) -> dict:
    """How many rows of each model refer to a record through its column, for the columns
    whose count is not zero. Wizard rows carry no sponsor: the record's id scopes them."""
    counts = {}
    for column in columns:
        model = column.class_
        stmt = (
            select(func.count()).where(column == ident)
            if model is WizardRow
            else scoped(model, func.count()).where(column == ident)
        )
        if count := db.session.scalar(stmt):
            counts[model] = count
    return counts


def describe_references(counts: dict) -> list[str]:
    """The counts in words ("3 users"), in the order they were counted."""
    return [_counted(model, count) for model, count in counts.items()]


def still_referred(name: str, counts: dict, instead: str) -> str:
    """Why a record cannot be deleted: "X cannot be deleted: 2 users refer to it. …"."""
    return ngettext(
        "%(name)s cannot be deleted: %(references)s refers to it. %(instead)s",
        "%(name)s cannot be deleted: %(references)s refer to it. %(instead)s",
        sum(counts.values()),
        name=name,
        references=joined_by_and(describe_references(counts)),
        instead=instead,
    )


def organization_references(organization: PartnerOrganization) -> dict:
    """What still refers to the organization, counted by model; empty: it can go."""
    return count_references(
        organization.id,
        (
            User.partner_organization_id,
            Invitation.partner_organization_id,
            PublicLink.partner_organization_id,
            WizardRow.partner_organization_id,
        ),
    )


def delete_organization(organization: PartnerOrganization, actor: User) -> None:
    """Only an organization nothing refers to (a mistake, a duplicate); else archive it."""
    references = organization_references(organization)
    if references:
        raise OrganizationRefused(
            still_referred(organization.name, references, gettext("Archive it instead."))
        )
    audit.record(
        "organization_deleted",
        organization,
        actor_id=actor.id,
        name=organization.name,
        kind=organization.kind.value,
    )
    # What the foreign key does on PostgreSQL, done here too so SQLite (no FK checks, and a
    # deleted row's id given to the next one) agrees: a wizard left on it chooses again.
    db.session.execute(
        update(WizardDraft)
        .where(WizardDraft.partner_organization_id == organization.id)
        .values(partner_organization_id=None)
        .execution_options(synchronize_session="fetch")
    )
    db.session.delete(organization)
    db.session.flush()


PENDING_SHOWN = 50


def organization_pending_invitations(organization: PartnerOrganization) -> list[Invitation]:
    """Its pending invitations, newest first; past PENDING_SHOWN, MANAGE → Invitations has
    the rest."""
    stmt = (
        scoped(Invitation)
        .where(
            Invitation.partner_organization_id == organization.id,
            Invitation.state == InvitationState.PENDING,
        )
        .options(joinedload(Invitation.occupation), joinedload(Invitation.invited_by))
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
        .limit(PENDING_SHOWN + 1)
    )
    return list(db.session.scalars(stmt).unique())
