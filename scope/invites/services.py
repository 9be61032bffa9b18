"""Invitations and the INVITE wizards: the rules, independent of any request."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit
from ..auth.passwords import hash_password
from ..extensions import db
from ..listing import Listing
from ..mail.services import queue_mail
from ..models import (
    PARTNER_USER_TYPES,
    Invitation,
    InvitationState,
    MailMessage,
    Occupation,
    PartnerOrganization,
    Sponsor,
    User,
    UserStatus,
    UserType,
    WizardDraft,
    WizardKind,
    WizardRow,
    utcnow,
)
from ..tenancy import scoped
from .tokens import invitation_link, new_nonce, parse_token, token_matches

RESENDS_PER_DAY = 3
MAX_ROWS = 1000


# ---------------------------------------------------------------- errors and results


@dataclass
class RowProblem:
    """Why a row cannot be added or sent, and what staff can do instead."""

    field: str
    message: str
    user_id: int | None = None
    managed: bool = False
    invitation_id: int | None = None


class RowRefused(Exception):
    def __init__(self, problem: RowProblem):
        super().__init__(problem.message)
        self.problem = problem


class InvitationError(Exception):
    """An action on an invitation that cannot be done now; the message says why."""


@dataclass
class SendResult:
    sent: list[Invitation] = field(default_factory=list)
    created: list[User] = field(default_factory=list)
    refused: list[tuple[WizardRow, RowProblem]] = field(default_factory=list)


# ---------------------------------------------------------------- email rules


def normalize_email(raw: str) -> str:
    """A valid address, lower-cased; RowRefused with the reason otherwise (no DNS lookups)."""
    raw = (raw or "").strip()
    if not raw:
        raise RowRefused(RowProblem("email", "Enter an email address."))
    if len(raw) > 254:
        raise RowRefused(RowProblem("email", "An email address has at most 254 characters."))
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        raise RowRefused(RowProblem("email", f"Enter a valid email address. {error}")) from None
    return result.normalized.lower()


def email_problems(sponsor_id: int, emails) -> dict[str, RowProblem]:
    """Existing accounts and pending invitations among these addresses, in two queries a chunk."""
    problems: dict[str, RowProblem] = {}
    emails = sorted({e for e in emails if e})
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        for user in db.session.scalars(select(User).where(User.email.in_(chunk))):
            problems[user.email] = _account_problem(sponsor_id, user)
        pending = select(Invitation).where(
            Invitation.sponsor_id == sponsor_id, Invitation.pending_email.in_(chunk)
        )
        for invitation in db.session.scalars(pending):
            problems.setdefault(
                invitation.email,
                RowProblem(
                    "email",
                    f"An invitation to this address is already pending (sent "
                    f"{invitation.sent_at:%b %-d, %Y}). Resend it instead of inviting again.",
                    invitation_id=invitation.id,
                ),
            )
    return problems


def email_problem(sponsor_id: int, email: str) -> RowProblem | None:
    """An existing account or a pending invitation for this address, or None."""
    return email_problems(sponsor_id, [email]).get(email)


def _account_problem(sponsor_id: int, user: User) -> RowProblem:
    if user.sponsor_id != sponsor_id:
        return RowProblem("email", "This address already has a Scope account.")
    if user.status is UserStatus.MANAGED:
        return RowProblem(
            "email",
            f"{user.full_name} already has a managed account with this address. "
            "Convert it to authenticated (AUTHENTICATE on the profile) instead of inviting.",
            user_id=user.id,
            managed=True,
        )
    return RowProblem(
        "email", f"{user.full_name} already has an account with this address.", user_id=user.id
    )


# ---------------------------------------------------------------- wizard drafts


def get_draft(staff: User, kind: WizardKind) -> WizardDraft:
    """The staff member's draft of this kind, created on first use; it survives reloads."""
    draft = db.session.scalar(
        select(WizardDraft)
        .where(WizardDraft.staff_user_id == staff.id, WizardDraft.kind == kind)
        .options(joinedload(WizardDraft.partner_organization))
    )
    if draft is None:
        draft = WizardDraft(sponsor_id=staff.sponsor_id, staff_user_id=staff.id, kind=kind)
        db.session.add(draft)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:  # a second tab created it a moment ago
            return get_draft(staff, kind)
    return draft


def organization_choices() -> list[PartnerOrganization]:
    return list(
        db.session.scalars(
            scoped(PartnerOrganization).order_by(
                PartnerOrganization.kind, PartnerOrganization.name_key
            )
        )
    )


def occupation_choices() -> list[Occupation]:
    return list(db.session.scalars(scoped(Occupation).order_by(Occupation.name_key)))


def choose_organization(draft: WizardDraft, organization_id: int) -> PartnerOrganization:
    organization = db.session.scalar(
        scoped(PartnerOrganization).where(PartnerOrganization.id == organization_id)
    )
    if organization is None:
        raise RowRefused(RowProblem("organization", "Choose an organization from the list."))
    if draft.partner_organization_id != organization.id:
        draft.partner_organization = organization
    return organization


def _row_emails(draft: WizardDraft, exclude_row_id: int | None = None) -> set[str]:
    return {r.email for r in draft.rows if r.email and r.id != exclude_row_id}


def check_row(
    draft: WizardDraft,
    *,
    email: str | None,
    user_type: UserType,
    occupation_id: int | None,
    email_required: bool = True,
    exclude_row_id: int | None = None,
) -> tuple[str | None, Occupation | None]:
    """The row's normalized email and occupation, or RowRefused saying what is wrong."""
    if draft.kind is WizardKind.TEAMMATES:
        if user_type is not UserType.STAFF:
            raise RowRefused(RowProblem("user_type", "Teammates get staff access."))
    elif user_type not in PARTNER_USER_TYPES:
        raise RowRefused(RowProblem("user_type", "Choose a user type."))
    occupation = None
    if user_type is UserType.MENTOR:
        if occupation_id is not None:
            occupation = db.session.scalar(scoped(Occupation).where(Occupation.id == occupation_id))
        if occupation is None:
            raise RowRefused(RowProblem("occupation", "Choose the mentor's occupation."))
    normalized = None
    if email or email_required:
        normalized = normalize_email(email or "")
        if normalized in _row_emails(draft, exclude_row_id):
            raise RowRefused(RowProblem("email", "This address is already in the list."))
        problem = email_problem(draft.sponsor_id, normalized)
        if problem:
            raise RowRefused(problem)
    return normalized, occupation


def add_row(
    draft: WizardDraft,
    *,
    user_type: UserType,
    email: str | None,
    occupation_id: int | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> WizardRow:
    if len(draft.rows) >= MAX_ROWS:
        raise RowRefused(RowProblem("email", f"A list holds at most {MAX_ROWS:,} people."))
    if draft.kind is not WizardKind.TEAMMATES and draft.partner_organization_id is None:
        raise RowRefused(RowProblem("organization", "Choose the organization first."))
    normalized, occupation = check_row(
        draft,
        email=email,
        user_type=user_type,
        occupation_id=occupation_id,
        email_required=draft.kind is not WizardKind.MANAGED,
    )
    row = WizardRow(
        user_type=user_type,
        email=normalized,
        occupation=occupation,
        first_name=first_name,
        last_name=last_name,
    )
    draft.rows.append(row)
    db.session.flush()
    return row


def remove_row(draft: WizardDraft, row_id: int) -> None:
    for row in draft.rows:
        if row.id == row_id:
            draft.rows.remove(row)
            db.session.flush()
            return


def clear_draft(draft: WizardDraft) -> None:
    draft.rows.clear()
    db.session.flush()


# ---------------------------------------------------------------- sending


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def _checked_rows(draft: WizardDraft, rows: list[WizardRow]):
    """check_row for many rows in a few queries: (row, email, occupation, problem) each."""
    occupation_ids = {row.occupation_id for row in rows if row.occupation_id is not None}
    occupations = {}
    if occupation_ids:
        stmt = scoped(Occupation).where(Occupation.id.in_(occupation_ids))
        occupations = {occupation.id: occupation for occupation in db.session.scalars(stmt)}
    in_draft = Counter(r.email for r in draft.rows if r.email)
    checked = []
    for row in rows:
        occupation = None
        try:
            if draft.kind is WizardKind.TEAMMATES:
                if row.user_type is not UserType.STAFF:
                    raise RowRefused(RowProblem("user_type", "Teammates get staff access."))
            elif row.user_type not in PARTNER_USER_TYPES:
                raise RowRefused(RowProblem("user_type", "Choose a user type."))
            if row.user_type is UserType.MENTOR:
                occupation = occupations.get(row.occupation_id)
                if occupation is None:
                    raise RowRefused(RowProblem("occupation", "Choose the mentor's occupation."))
            email = normalize_email(row.email or "")
            if in_draft[email] > 1 or (email != row.email and in_draft[email]):
                raise RowRefused(RowProblem("email", "This address is already in the list."))
        except RowRefused as refused:
            checked.append((row, None, None, refused.problem))
        else:
            checked.append((row, email, occupation, None))
    problems = email_problems(draft.sponsor_id, [email for _, email, _, _ in checked if email])
    return [
        (row, email, occupation, problem or problems.get(email))
        for row, email, occupation, problem in checked
    ]


def send_invitations(draft: WizardDraft, inviter: User) -> SendResult:
    """Invite every row; rows refused by the rules (checked again now) stay in the draft.

    All rows are checked in a few queries and inserted in one flush. One pending invitation
    per sponsor and address is enforced by the database: when another request took an
    address meanwhile, the rows are inserted one at a time so only that row is refused.
    """
    result = SendResult()
    organization = None if draft.kind is WizardKind.TEAMMATES else draft.partner_organization
    if draft.kind is not WizardKind.TEAMMATES and organization is None:
        raise RowRefused(RowProblem("organization", "Choose the organization first."))
    now = utcnow()
    accepted = []
    for row, email, occupation, problem in _checked_rows(draft, list(draft.rows)):
        if problem:
            result.refused.append((row, problem))
            continue
        invitation = Invitation(
            sponsor_id=draft.sponsor_id,
            email=email,
            pending_email=email,
            user_type=row.user_type,
            partner_organization_id=organization.id if organization else None,
            occupation_id=occupation.id if occupation else None,
            invited_by_id=inviter.id,
            state=InvitationState.PENDING,
            nonce=new_nonce(),
            sent_at=now,
            expires_at=_expiry(now),
            resend_count=0,
        )
        accepted.append((row, invitation))
    try:
        with db.session.begin_nested():
            db.session.add_all(invitation for _, invitation in accepted)
            db.session.flush()
    except IntegrityError:
        accepted = _insert_one_by_one(draft, accepted, result)
    for _row, invitation in accepted:
        _queue_invitation_email(invitation, inviter, organization)
        audit.record("invited", invitation, actor_id=inviter.id, email=invitation.email)
        result.sent.append(invitation)
    _remove_rows(draft, [row for row, _ in accepted])
    db.session.flush()
    return result


def _remove_rows(draft: WizardDraft, rows: list[WizardRow]) -> None:
    """Delete sent rows in a few statements rather than one DELETE per row."""
    if not rows:
        return
    ids = [row.id for row in rows]
    db.session.flush()
    for row in rows:
        db.session.expunge(row)
    for start in range(0, len(ids), 500):
        db.session.execute(
            delete(WizardRow)
            .where(WizardRow.id.in_(ids[start : start + 500]))
            .execution_options(synchronize_session=False)
        )
    db.session.expire(draft, ["rows"])


def _insert_one_by_one(draft: WizardDraft, accepted: list, result: SendResult) -> list:
    """The rows whose invitation could be inserted; the others go to result.refused."""
    inserted = []
    for row, invitation in accepted:
        values = {c.key: getattr(invitation, c.key) for c in Invitation.__table__.c}
        fresh = Invitation(**{k: v for k, v in values.items() if v is not None and k != "id"})
        try:
            with db.session.begin_nested():
                db.session.add(fresh)
                db.session.flush()
        except IntegrityError:
            problem = email_problem(draft.sponsor_id, fresh.email) or RowProblem(
                "email", "Another invitation to this address was sent a moment ago."
            )
            result.refused.append((row, problem))
        else:
            inserted.append((row, fresh))
    return inserted


def _queue_invitation_email(
    invitation: Invitation, inviter: User | None, organization: PartnerOrganization | None
) -> MailMessage:
    sponsor = db.session.get(Sponsor, invitation.sponsor_id)
    where = organization.name if organization else sponsor.name
    return queue_mail(
        kind="invitation",
        recipient=invitation.email,
        subject=f"{sponsor.name} invites you to Scope",
        template="invitation",
        sponsor_id=invitation.sponsor_id,
        invitation_id=invitation.id,
        sponsor=sponsor,
        organization=organization,
        where=where,
        user_type=invitation.user_type,
        inviter=inviter,
        link=invitation_link(invitation),
        expires_at=invitation.expires_at,
    )


# ---------------------------------------------------------------- managed users


def create_managed_users(draft: WizardDraft, actor: User) -> SendResult:
    """Create a Managed account per row (no email is sent); refused rows stay in the draft."""
    result = SendResult()
    organization = draft.partner_organization
    if organization is None:
        raise RowRefused(RowProblem("organization", "Choose the organization first."))
    for row in list(draft.rows):
        try:
            email, occupation = check_row(
                draft,
                email=row.email,
                user_type=row.user_type,
                occupation_id=row.occupation_id,
                email_required=False,
                exclude_row_id=row.id,
            )
        except RowRefused as refused:
            result.refused.append((row, refused.problem))
            continue
        user = User(
            sponsor_id=draft.sponsor_id,
            email=email,
            first_name=row.first_name or "",
            last_name=row.last_name or "",
            user_type=row.user_type,
            status=UserStatus.MANAGED,
            partner_organization_id=organization.id,
            occupation_id=occupation.id if occupation else None,
        )
        try:
            with db.session.begin_nested():
                db.session.add(user)
                db.session.flush()
        except IntegrityError:
            result.refused.append(
                (row, email_problem(draft.sponsor_id, email) or RowProblem("email", "Taken."))
            )
            continue
        audit.record("created_managed", user, actor_id=actor.id)
        draft.rows.remove(row)
        result.created.append(user)
    db.session.flush()
    return result


# ---------------------------------------------------------------- managing invitations


INVITATION_SORTS = {
    "email": (Invitation.email,),
    "type": (Invitation.user_type, Invitation.email),
    "organization": (PartnerOrganization.name_key, Invitation.email),
    "sent": (Invitation.sent_at,),
}
INVITATION_STATUSES = ("sent", "reviewed", "expired")


def invitation_status(invitation: Invitation, now: datetime | None = None) -> str:
    now = now or utcnow()
    if invitation.expires_at <= now:
        return "expired"
    if invitation.reviewed_at is not None:
        return "reviewed"
    return "sent"


def list_invitations(listing: Listing) -> Listing:
    now = utcnow()
    stmt = (
        scoped(Invitation)
        .where(Invitation.state == InvitationState.PENDING)
        .outerjoin(
            PartnerOrganization, Invitation.partner_organization_id == PartnerOrganization.id
        )
        .options(
            joinedload(Invitation.partner_organization),
            joinedload(Invitation.invited_by),
            joinedload(Invitation.occupation),
        )
    )
    if listing.q:
        stmt = stmt.where(Invitation.email.contains(listing.q.lower(), autoescape=True))
    status = listing.filters.get("status")
    if status == "expired":
        stmt = stmt.where(Invitation.expires_at <= now)
    elif status == "reviewed":
        stmt = stmt.where(Invitation.expires_at > now, Invitation.reviewed_at.is_not(None))
    elif status == "sent":
        stmt = stmt.where(Invitation.expires_at > now, Invitation.reviewed_at.is_(None))
    columns = INVITATION_SORTS[listing.sort]
    order = [c.desc() if listing.direction == "desc" else c.asc() for c in columns]
    return listing.fetch(stmt, [*order, Invitation.id])


def _pending(invitation: Invitation) -> None:
    # Lock the row and read it again: a sign-up may have accepted it since it was loaded.
    db.session.refresh(invitation, with_for_update=True)
    if invitation.state is not InvitationState.PENDING:
        raise InvitationError(
            "This invitation was already accepted."
            if invitation.state is InvitationState.ACCEPTED
            else "This invitation was revoked."
        )


def revoke_invitation(invitation: Invitation, actor: User) -> None:
    """The link stops working at once, and the address can be invited again."""
    _pending(invitation)
    invitation.state = InvitationState.REVOKED
    invitation.pending_email = None
    invitation.revoked_at = utcnow()
    invitation.nonce = new_nonce()
    audit.record("revoked", invitation, actor_id=actor.id)


def resend_invitation(invitation: Invitation, actor: User) -> MailMessage:
    """A new email with the same link and a fresh expiry; a few per address per day."""
    _pending(invitation)
    since = utcnow() - timedelta(days=1)
    recent = db.session.scalar(
        select(func.count(MailMessage.id)).where(
            MailMessage.sponsor_id == invitation.sponsor_id,
            MailMessage.kind == "invitation",
            MailMessage.recipient == invitation.email,
            MailMessage.created_at >= since,
        )
    )
    if recent > RESENDS_PER_DAY:
        raise InvitationError(
            f"This invitation was already sent {recent} times in the last 24 hours. "
            "Try again tomorrow, or use Copy Invitation Link."
        )
    now = utcnow()
    invitation.sent_at = now
    invitation.expires_at = _expiry(now)
    invitation.resend_count += 1
    message = _queue_invitation_email(invitation, actor, invitation.partner_organization)
    audit.record("resent", invitation, actor_id=actor.id)
    return message


def copy_link(invitation: Invitation) -> str:
    _pending(invitation)
    return invitation_link(invitation)


# ---------------------------------------------------------------- the link's side


class LinkUnavailable(Exception):
    """The link cannot be used; reason is one of invalid, expired, revoked, used."""

    def __init__(self, reason: str, invitation: Invitation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


def invitation_for_token(token: str) -> Invitation:
    parsed = parse_token(token)
    invitation = db.session.get(Invitation, parsed[0]) if parsed else None
    if invitation is None or not token_matches(invitation, parsed[1]):
        # A revoked invitation gets a new nonce, so its old links land here too;
        # say "revoked" when the id is right and the invitation was revoked.
        if invitation is not None and invitation.state is InvitationState.REVOKED:
            raise LinkUnavailable("revoked", invitation)
        raise LinkUnavailable("invalid")
    if invitation.state is InvitationState.ACCEPTED:
        raise LinkUnavailable("used", invitation)
    if invitation.state is InvitationState.REVOKED:
        raise LinkUnavailable("revoked", invitation)
    if invitation.expires_at <= utcnow():
        raise LinkUnavailable("expired", invitation)
    return invitation


def mark_reviewed(invitation: Invitation) -> None:
    """A person has the sign-up page open (a request the page makes after it loads)."""
    if invitation.reviewed_at is None and invitation.state is InvitationState.PENDING:
        invitation.reviewed_at = utcnow()
        audit.record("reviewed", invitation, actor_id=None)


def accept_invitation(invitation: Invitation, *, first_name: str, last_name: str, password: str):
    """Create the Active account; of simultaneous submissions of one link, one wins."""
    password_hash = hash_password(password)  # slow: before the row lock, not under it
    now = utcnow()
    claimed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.state == InvitationState.PENDING,
            Invitation.nonce == invitation.nonce,
            Invitation.expires_at > now,
        )
        .values(state=InvitationState.ACCEPTED, pending_email=None, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise LinkUnavailable("used")
    if db.session.scalar(select(User.id).where(User.email == invitation.email)) is not None:
        db.session.rollback()
        raise LinkUnavailable("taken", invitation)
    user = User(
        sponsor_id=invitation.sponsor_id,
        email=invitation.email,
        first_name=first_name,
        last_name=last_name,
        user_type=invitation.user_type,
        status=UserStatus.ACTIVE,
        partner_organization_id=invitation.partner_organization_id,
        occupation_id=invitation.occupation_id,
        password_hash=password_hash,
        last_login_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise LinkUnavailable("taken", invitation) from None
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(accepted_user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    audit.record("accepted", invitation, actor_id=user.id, user_id=user.id)
    audit.record(
        "created_from_invitation",
        user,
        actor_id=user.id,
        invited_by_id=invitation.invited_by_id,
        invitation_id=invitation.id,
    )
    return user
