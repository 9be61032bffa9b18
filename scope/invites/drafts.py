"""The INVITE wizards' lists: one draft per staff member and wizard, a list per organization.

Every person goes on a list through rows.check_rows(), the one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import i18n
from ..emails import lookup_key, split_addresses
from ..extensions import db
from ..models import (
    PartnerOrganization,
    Sponsor,
    User,
    UserType,
    WizardDraft,
    WizardKind,
    WizardRow,
)
from ..refusals import AllRefused, Refused
from ..templating import format_number
from ..tenancy import MAX_ID, parse_id, scoped
from . import partner_admins
from .rows import ADDRESSES_LENGTH, MAX_ROWS, CheckedRow, RowInput, RowRefused, check_rows

# What the row form keeps from one person to the next: a batch is usually of one kind.
TYPED = ("user_type", "occupation", "email", "first_name", "last_name")


# ---------------------------------------------------------------- drafts


def set_language(draft: WizardDraft, code: str | None) -> None:
    """The language of this batch's invitations (their email and sign-up page); blank is
    the sponsor's."""
    if code and i18n.check(code) is None:
        raise Refused(gettext("Choose a language from the list."), "language")
    draft.language = code or None


def batch_language(draft: WizardDraft) -> str:
    """The language this batch's invitations go out in."""
    if draft.language:
        return draft.language
    return db.session.get(Sponsor, draft.sponsor_id).language


def get_draft(staff: User, kind: WizardKind, lock: bool = False) -> WizardDraft:
    """The staff member's draft of this kind, created on first use; it survives reloads.

    With lock (SEND), the draft is held for the transaction: two SENDs of one list run one
    after the other, and the second finds the rows the first sent gone.
    """
    stmt = select(WizardDraft).where(
        WizardDraft.staff_user_id == staff.id, WizardDraft.kind == kind
    )
    if lock:
        stmt = stmt.with_for_update(of=WizardDraft)
    draft = db.session.scalar(stmt.options(joinedload(WizardDraft.partner_organization)))
    if draft is not None:
        chosen = draft.partner_organization
        if chosen is not None and chosen.sponsor_id != draft.sponsor_id:
            # Only a deleted organization's id given to another sponsor's new one (SQLite
            # reuses the last id) can lead here: the wizard chooses again.
            draft.partner_organization = None
            db.session.flush()
        return draft
    try:
        with db.session.begin_nested():
            draft = WizardDraft(sponsor_id=staff.sponsor_id, staff_user_id=staff.id, kind=kind)
            db.session.add(draft)
            db.session.flush()
    except IntegrityError:  # a second tab created it a moment ago
        return get_draft(staff, kind, lock)
    return draft


def organization_choices() -> list[PartnerOrganization]:
    stmt = (
        scoped(PartnerOrganization)
        .where(PartnerOrganization.archived_at.is_(None))
        .order_by(PartnerOrganization.kind, PartnerOrganization.name_key)
    )
    if not current_user.is_staff:  # a partner administrator: their own organization only
        stmt = stmt.where(PartnerOrganization.id == current_user.partner_organization_id)
    return list(db.session.scalars(stmt))


def has_organizations() -> bool:
    """Whether the sponsor has any organization to pick (else the wizard says to add one)."""
    first = scoped(PartnerOrganization, PartnerOrganization.id).where(
        PartnerOrganization.archived_at.is_(None)
    )
    return db.session.scalar(first.limit(1)) is not None


def choose_organization(draft: WizardDraft, organization_id: int | None) -> PartnerOrganization:
    organization = db.session.scalar(
        scoped(PartnerOrganization).where(PartnerOrganization.id == organization_id)
    )
    if organization is None:
        raise RowRefused(gettext("Choose an organization from the list."), "organization")
    not_archived(organization)
    refusal = partner_admins.organization_refusal(
        db.session.get(User, draft.staff_user_id), organization
    )
    if refusal:
        raise refusal
    if draft.partner_organization_id != organization.id:
        draft.partner_organization = organization
    return organization


def current_rows(draft: WizardDraft) -> list[WizardRow]:
    """The list open now: the people added for the organization chosen (teammates: all)."""
    if draft.kind is WizardKind.TEAMMATES:
        return list(draft.rows)
    return [
        row for row in draft.rows if row.partner_organization_id == draft.partner_organization_id
    ]


@dataclass
class WaitingList:
    """People added for one organization in one wizard and not yet invited or created."""

    kind: WizardKind
    organization: PartnerOrganization | None
    count: int


def waiting_lists(staff: User) -> list[WaitingList]:
    """Every list of this staff member's wizards that has people in it, in one query."""
    stmt = (
        select(WizardDraft.kind, WizardRow.partner_organization_id, func.count(WizardRow.id))
        .join(WizardRow, WizardRow.draft_id == WizardDraft.id)
        .where(WizardDraft.staff_user_id == staff.id)
        .group_by(WizardDraft.kind, WizardRow.partner_organization_id)
    )
    counts = db.session.execute(stmt).all()
    ids = {org_id for _, org_id, _ in counts if org_id is not None}
    organizations = {
        org.id: org
        for org in db.session.scalars(
            scoped(PartnerOrganization).where(PartnerOrganization.id.in_(ids))
        )
    }
    lists = [
        WaitingList(kind, organizations.get(org_id), count)
        for kind, org_id, count in counts
        if org_id is None or org_id in organizations
    ]
    return sorted(
        lists, key=lambda w: (w.kind.value, w.organization.name_key if w.organization else "")
    )


def hold_if_current(draft: WizardDraft, sent_batches: str | None) -> bool:
    """Whether a post comes from a page drawn after this draft's last SEND, and if it does,
    the draft held for the rest of the transaction. A page drawn before it carries the row
    form SEND has just sent (its message and its language went with it).

    A compare-and-set, as the draft is stored now, not as it was read: a SEND committed
    after the read, or waited for, makes it False on either database. A post without the
    page's count (a page drawn before pages carried it) is taken as current, unheld.
    """
    if sent_batches is None:
        return True
    try:
        seen = int(sent_batches)
    except ValueError:
        return False
    if not 0 <= seen <= MAX_ID:
        return False
    held = db.session.execute(
        update(WizardDraft)
        .where(WizardDraft.id == draft.id, WizardDraft.sent_batches == seen)
        .values(sent_batches=seen)
        .execution_options(synchronize_session=False)
    )
    return held.rowcount == 1


def shows_current_organization(draft: WizardDraft, shown: str | None) -> bool:
    """Whether a post comes from a page drawn for the organization the draft holds now.
    Another page may have changed it since: a post made under one organization must not add
    to, or send, another's list. A post without it (a page drawn before pages carried it) is
    taken as current."""
    if shown is None:
        return True
    return shown == str(draft.partner_organization_id or "")


def save_typed(draft: WizardDraft, values: dict) -> None:
    """Keep the row form as typed, so that a reload shows it again: the person, and a list
    pasted in Addresses and not added yet."""
    typed = {key: str(values[key])[:300] for key in TYPED if values.get(key)}
    draft.typed = _with_addresses(typed, values.get("addresses"))


def _with_addresses(typed: dict | None, addresses: str | None) -> dict | None:
    """The row form's kept values, with the Addresses field's text (or without, when empty)."""
    typed = {key: value for key, value in (typed or {}).items() if key != "addresses"}
    if addresses:
        typed["addresses"] = str(addresses)[:ADDRESSES_LENGTH]
    return typed or None


def has_typed_person(values: dict) -> bool:
    """Whether the row form holds a person (an address or a name), not only the kept type."""
    return any(values.get(key) for key in ("email", "first_name", "last_name"))


def is_listed(draft: WizardDraft, values: dict, listed_up_to: str | None = None) -> bool:
    """Whether the person in the row form is the open list's already: SEND right after ADD+,
    before the page showed the cleared form, posts the same person again.

    Only a row the page did not show yet can be that echo: `listed_up_to` is the last row id
    the page listed. A second person of the same name, typed under the first one shown, is a
    person to add. A post without it (a page drawn before pages carried it) counts every row.
    """
    address = lookup_key(values.get("email"))
    shown = 0 if listed_up_to == "0" else parse_id(listed_up_to)
    rows = current_rows(draft)
    if shown is not None:
        rows = [row for row in rows if row.id > shown]
    for row in rows:
        if address and row.email == address:
            return True
        same_name = (row.first_name, row.last_name) == (
            values.get("first_name"),
            values.get("last_name"),
        )
        if (
            not address
            and not row.email
            and same_name
            and row.user_type.value == values.get("user_type")
        ):
            return True
    return False


def _list_full() -> str:
    return gettext("A list holds at most %(count)s people.", count=format_number(MAX_ROWS))


def require_organization(draft: WizardDraft) -> PartnerOrganization | None:
    """The organization the list is for; the wizards for partners cannot go on without one."""
    if draft.kind is WizardKind.TEAMMATES:
        return None
    if draft.partner_organization is None:
        raise RowRefused(gettext("Choose the organization first."), "organization")
    not_archived(draft.partner_organization)
    return draft.partner_organization


def closed_reason(draft: WizardDraft) -> str | None:
    """Why nobody can be added to the list open now (its organization was archived since it
    was chosen), for the wizard to say above the list; None when it takes people."""
    if draft.kind is WizardKind.TEAMMATES or draft.partner_organization is None:
        return None
    refusal = archived_refusal(draft.partner_organization)
    return refusal.message if refusal else None


def archived_refusal(organization: PartnerOrganization) -> RowRefused | None:
    """Nobody is invited to, or added at, an archived organization until it is restored."""
    if organization.archived_at is None:
        return None
    return RowRefused(
        gettext(
            "%(name)s is archived. Restore it on its page to add people to it.",
            name=organization.name,
        ),
        "organization",
    )


def not_archived(organization: PartnerOrganization) -> None:
    """archived_refusal, raised: for the actions that stop at it."""
    refusal = archived_refusal(organization)
    if refusal:
        raise refusal


def add_row(draft: WizardDraft, person: RowInput) -> WizardRow:
    """Put one person on the open list after every rule passed; AllRefused names each
    problem. The row form then keeps the person's type and occupation for the next one."""
    if len(draft.rows) >= MAX_ROWS:
        raise RowRefused(_list_full())
    require_organization(draft)
    (checked,) = check_rows(draft, [person])
    if not checked.ok:
        raise AllRefused(checked.problems)
    row = _row(draft, checked)
    draft.rows.append(row)
    draft.typed = _with_addresses(_kept(person), (draft.typed or {}).get("addresses"))
    db.session.flush()
    return row


def _kept(person: RowInput) -> dict | None:
    """What the row form keeps for the next person: this one's type and occupation."""
    if person.user_type is UserType.STAFF:
        return None
    kept = {"user_type": person.user_type.value, "occupation": person.occupation_id}
    return {key: value for key, value in kept.items() if value}


def _row(draft: WizardDraft, checked: CheckedRow) -> WizardRow:
    person = checked.input
    return WizardRow(
        partner_organization_id=draft.partner_organization_id,
        user_type=person.user_type,
        email=checked.email,
        occupation=checked.occupation,
        first_name=person.first_name,
        last_name=person.last_name,
    )


@dataclass
class AddressesAdded:
    added: int = 0
    # (address as written, why it was not added), in the order of the list
    refused: list[tuple[str, str]] = field(default_factory=list)


def add_addresses(draft: WizardDraft, text: str, user_type: UserType | None, occupation_id):
    """One row per address of a pasted list, each judged like ADD+; the others are named.

    The list may be one address a line, or separated by commas or semicolons, with names
    ("Maria Lopez <maria@example.org>").
    """
    require_organization(draft)
    people = [
        RowInput(user_type, address, occupation_id=occupation_id)
        for address in split_addresses(text)
    ]
    if not people:
        raise RowRefused(gettext("Paste one or more email addresses."), "addresses")
    if len(draft.rows) + len(people) > MAX_ROWS:
        raise RowRefused(_list_full(), "addresses")
    result = AddressesAdded()
    for checked in check_rows(draft, people):
        if checked.ok:
            draft.rows.append(_row(draft, checked))
            result.added += 1
        else:
            result.refused.append((checked.input.email, checked.problems[0].message))
    # What is left in the field, to correct or remove, is what a reload shows there.
    leftover = "\n".join(address for address, _ in result.refused)
    draft.typed = _with_addresses(draft.typed, leftover)
    db.session.flush()
    return result


def remove_row(draft: WizardDraft, row_id: int) -> None:
    for row in draft.rows:
        if row.id == row_id:
            draft.rows.remove(row)
            db.session.flush()
            return
