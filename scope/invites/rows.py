"""The one set of rules every person on an INVITE list must pass.

ADD+, SEND INVITATIONS, CREATE USERS + and the CSV check all call check_rows(): a row is
judged the same way wherever it comes from, in a few queries for any number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..emails import EmailRefused, looks_like_several, normalize_email
from ..extensions import db
from ..models import (
    Invitation,
    Occupation,
    User,
    UserStatus,
    UserType,
    WizardDraft,
    WizardKind,
    WizardRow,
)
from ..people import name_refusals, occupation_refusal, partner_type_refusal
from ..refusals import Refused
from ..templating import format_date, format_number
from ..text import name_key
from . import partner_admins

MAX_ROWS = 5000
# A pasted list of addresses, as the Addresses field takes it.
ADDRESSES_LENGTH = 100_000


class RowRefused(Refused):
    """Why a person cannot go on the list, and what staff can do instead."""

    def __init__(
        self,
        message: str,
        field: str = "email",
        *,
        user_id: int | None = None,
        invitation_id: int | None = None,
        reactivate: bool = False,
    ):
        super().__init__(message, field)
        self.user_id = user_id
        self.invitation_id = invitation_id
        # The account is deactivated: staff are offered Reactivate instead.
        self.reactivate = reactivate


@dataclass
class RowInput:
    """A person as typed on screen, read from a CSV line, or kept in a draft."""

    user_type: UserType | None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    occupation_id: int | None = None
    # A CSV names the occupation (or its RAPIDS code) instead of choosing it.
    occupation_name: str | None = None
    # A CSV line's number and its values as written, to show beside its problems.
    line: int | None = None
    raw: dict[str, str] | None = None
    row_id: int | None = None

    @classmethod
    def of(cls, row: WizardRow) -> RowInput:
        return cls(
            row.user_type,
            row.email,
            row.first_name,
            row.last_name,
            row.occupation_id,
            row_id=row.id,
        )


@dataclass
class CheckedRow:
    input: RowInput
    email: str | None = None
    occupation: Occupation | None = None
    problems: list[Refused] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def refuse(self, message: str, field: str = "email") -> None:
        self.problems.append(RowRefused(message, field))

    def add(self, *refusals: Refused | None) -> None:
        self.problems.extend(refusal for refusal in refusals if refusal is not None)


# ---------------------------------------------------------------- the rules


def check_rows(draft: WizardDraft, people: list[RowInput]) -> list[CheckedRow]:
    """Judge every person against the wizard's rules, the list and the sponsor's records.

    One query for occupations and two per 500 addresses, however many people there are.
    """
    checked = [CheckedRow(person) for person in people]
    owner = db.session.get(User, draft.staff_user_id)
    occupations = _Occupations.of_sponsor(draft.sponsor_id) if _any_mentor(people) else None
    batch_ids = {person.row_id for person in people if person.row_id is not None}
    # Every list of the draft: one person is invited to one organization at a time.
    listed = {row.email: row for row in draft.rows if row.email and row.id not in batch_ids}
    seen: dict[str, CheckedRow] = {}
    for row in checked:
        person = row.input
        if draft.kind is WizardKind.TEAMMATES:
            if person.user_type is not UserType.STAFF:
                row.refuse(gettext("Teammates get staff access."), "user_type")
        else:
            row.add(partner_type_refusal(person.user_type))
            row.add(
                partner_admins.type_refusal(owner, draft.partner_organization, person.user_type)
            )
        if draft.kind is WizardKind.MANAGED:
            row.add(*name_refusals(person.first_name, person.last_name))
        if person.user_type is UserType.MENTOR:
            row.occupation = occupations.find(person.occupation_id, person.occupation_name)
            row.add(occupation_refusal(person.user_type, row.occupation, person.occupation_name))
        _check_email(row, required=draft.kind is not WizardKind.MANAGED)
        if row.email in listed:
            row.refuse(_listed_message(draft, listed[row.email]))
        elif row.email in seen:
            first = seen[row.email].input.line
            row.refuse(
                gettext("This address is also on line %(line)s.", line=format_number(first))
                if first
                else gettext("This address is already in the list.")
            )
        elif row.email:
            seen[row.email] = row
    conflicts = email_conflicts(draft.sponsor_id, seen)
    for row in checked:
        if row.email in conflicts:
            row.problems.append(conflict_for(owner, conflicts[row.email]))
    return checked


def daily_cap_for(inviter: User, refusal: Refused) -> Refused:
    """An address's daily invitation cap as this inviter may read it: a partner administrator
    is not told how many invitations it got (some may be staff's, elsewhere)."""
    if inviter.is_staff:
        return refusal
    return RowRefused(
        gettext("This address cannot get another invitation today. Try again tomorrow."),
        refusal.field,
    )


def conflict_for(inviter: User, conflict: RowRefused) -> RowRefused:
    """An address's conflict as this inviter may read it: a partner administrator learns
    nothing of other organizations' people."""
    if inviter.is_staff:
        return conflict
    return RowRefused(
        gettext(
            "This address already has an account or an invitation. "
            "Ask your sponsor's staff if the person cannot log in."
        )
    )


def _any_mentor(people: Iterable[RowInput]) -> bool:
    return any(person.user_type is UserType.MENTOR for person in people)


def _listed_message(draft: WizardDraft, row: WizardRow) -> str:
    organization = row.partner_organization
    if organization is None or organization.id == draft.partner_organization_id:
        return gettext("This address is already in the list.")
    return gettext(
        "This address is already in the list for %(organization)s, not yet invited.",
        organization=organization.name,
    )


def _check_email(row: CheckedRow, required: bool) -> None:
    if not row.input.email and not required:
        return
    if row.input.line is None and looks_like_several(row.input.email):
        row.refuse(
            gettext("Enter one address here. To add several at once, paste them into Addresses.")
        )
        return
    try:
        row.email = normalize_email(row.input.email)
    except EmailRefused as refused:
        row.refuse(refused.message)


class _Occupations:
    """The sponsor's occupations, found by id, by name (any case) or by RAPIDS code."""

    def __init__(self, occupations: list[Occupation]):
        self.by_id = {o.id: o for o in occupations}
        self.by_name = {o.name_key: o for o in occupations}
        self.by_code = {o.rapids_code.casefold(): o for o in occupations if o.rapids_code}

    @classmethod
    def of_sponsor(cls, sponsor_id: int) -> _Occupations:
        stmt = select(Occupation).where(Occupation.sponsor_id == sponsor_id)
        return cls(list(db.session.scalars(stmt)))

    def find(self, ident: int | None, named: str | None) -> Occupation | None:
        if named:
            return self.by_name.get(name_key(named)) or self.by_code.get(named.casefold())
        return self.by_id.get(ident)


# ---------------------------------------------------------------- conflicts with records


def email_conflicts(sponsor_id: int, emails: Iterable[str]) -> dict[str, RowRefused]:
    """The sponsor's accounts and pending invitations that already have these addresses, two
    queries a chunk.

    Other sponsors' accounts are not asked about: an address one of them has is new here
    (the invitation's sign-up page tells the mailbox's owner they already have an account).
    """
    conflicts: dict[str, RowRefused] = {}
    emails = sorted({e for e in emails if e})
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        accounts = select(User).where(User.sponsor_id == sponsor_id, User.email.in_(chunk))
        for user in db.session.scalars(accounts):
            conflicts[user.email] = _account_conflict(user)
        for invitation in pending_invitations(sponsor_id, chunk):
            conflicts.setdefault(invitation.email, _invitation_conflict(invitation))
    return conflicts


def pending_invitations(sponsor_id: int, emails: list[str]) -> list[Invitation]:
    """The sponsor's invitations waiting to be accepted at these addresses (at most one an
    address), with their organizations: an address invited is not given to anyone else."""
    pending = (
        select(Invitation)
        .where(Invitation.sponsor_id == sponsor_id, Invitation.pending_email.in_(emails))
        .options(joinedload(Invitation.partner_organization))
    )
    return list(db.session.scalars(pending))


def _invitation_conflict(invitation: Invitation) -> RowRefused:
    """Says what the address is already invited to: where, as what, and since when."""
    words = {"type": invitation.user_type.label, "date": format_date(invitation.sent_at)}
    if invitation.partner_organization is None:
        message = gettext(
            "Already invited as %(type)s on %(date)s, not yet accepted. Resend that invitation "
            "instead of inviting again.",
            **words,
        )
    else:
        message = gettext(
            "Already invited to %(organization)s as %(type)s on %(date)s, not yet accepted. "
            "Resend that invitation instead of inviting again.",
            organization=invitation.partner_organization.name,
            **words,
        )
    return RowRefused(message, invitation_id=invitation.id)


def email_conflict(sponsor_id: int, email: str) -> RowRefused | None:
    return email_conflicts(sponsor_id, [email]).get(email)


def _account_conflict(user: User) -> RowRefused:
    if user.status is UserStatus.DEACTIVATED:
        return RowRefused(
            gettext(
                "%(name)s's account with this address is deactivated. "
                "Reactivate it instead of inviting.",
                name=user.full_name,
            ),
            user_id=user.id,
            reactivate=True,
        )
    if user.status is UserStatus.MANAGED:
        return RowRefused(
            gettext(
                "%(name)s already has a managed account with this address. Convert it to "
                "authenticated (AUTHENTICATE on the profile) instead of inviting.",
                name=user.full_name,
            ),
            user_id=user.id,
        )
    return RowRefused(
        gettext("%(name)s already has an account with this address.", name=user.full_name),
        user_id=user.id,
    )
