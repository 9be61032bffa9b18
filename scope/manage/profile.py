"""A person's profile on MANAGE → Users: edits to it, and the history of the account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit
from ..accounts.link_emails import request_email_change
from ..emails import EmailRefused, normalize_email
from ..extensions import db
from ..i18n import N_
from ..invites.drafts import archived_refusal
from ..invites.rows import pending_invitations
from ..models import AuditEvent, Invitation, Occupation, PartnerOrganization, User, UserType
from ..people import occupation_refusal, partner_type_refusal
from ..refusals import AllRefused, Refused
from ..templating import format_date
from ..tenancy import scoped
from .actions import end_links

EMAIL_TAKEN = _l("Another account already uses this email address.")


@dataclass
class ProfileChange:
    changed: list[str]
    # A new login address waiting for its owner's confirmation.
    email_pending: str | None = None

    @property
    def message(self) -> str:
        if self.email_pending:
            return gettext(
                "Profile saved. %(email)s gets an email to confirm the address; "
                "it becomes the login once confirmed.",
                email=self.email_pending,
            )
        return gettext("Profile saved.")


def _email_taken(user: User, email: str) -> bool:
    """Another account of this sponsor has the address (other sponsors are not asked)."""
    stmt = select(User.id).where(
        User.sponsor_id == user.sponsor_id, User.email == email, User.id != user.id
    )
    return db.session.scalar(select(exists(stmt))) or False


def _scoped(model, ident):
    return db.session.scalar(scoped(model).where(model.id == ident)) if ident else None


def update_profile(user: User, data: dict, actor: User) -> ProfileChange:
    """Apply an edit after checking every rule; nothing changes if one fails.

    The address of an account that logs in is its login: a new one is only requested here,
    and becomes the login when its owner confirms it (accounts.link_emails.request_email_change).
    Raises AllRefused with every problem.
    """
    refusals: list[Refused] = []
    changes = {
        "first_name": data["first_name"],
        "last_name": data["last_name"],
        "email": _email(user, data.get("email"), refusals),
    }
    if not user.is_staff:
        changes.update(
            _partner_fields(data, refusals, user.occupation_id, user.partner_organization_id)
        )
    if refusals:
        raise AllRefused(refusals)
    pending = None
    if user.password_hash and changes["email"] != user.email:
        pending = changes.pop("email")
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    try:
        # Changed inside the savepoint: a failed flush takes the change back with it.
        with db.session.begin_nested():
            for name in changed:
                setattr(user, name, changes[name])
            db.session.flush()
    except IntegrityError:
        # Another request took the address between the check and the write.
        if changes.get("email") and _email_taken(user, changes["email"]):
            raise AllRefused([Refused(EMAIL_TAKEN, "email")]) from None
        raise
    if "email" in changed:
        end_links(user)  # a link already sent must not reach the old address's owner
    if changed:
        audit.record("profile_updated", user, actor_id=actor.id, fields=changed)
    if pending:
        request_email_change(user, pending, actor)
    return ProfileChange(changed, pending)


def _email(user: User, typed: str | None, refusals: list[Refused]) -> str | None:
    if not typed:
        if user.password_hash:
            refusals.append(
                Refused(
                    gettext("This person logs in with their email address, so it cannot be empty."),
                    "email",
                )
            )
        return None
    if typed.strip().lower() == user.email:
        return user.email  # unchanged: an address on file is not judged again
    try:
        email = normalize_email(typed)
    except EmailRefused as refused:
        refusals.append(refused)
        return None
    if _email_taken(user, email):
        refusals.append(Refused(EMAIL_TAKEN, "email"))
    for invitation in pending_invitations(user.sponsor_id, [email]):
        # Given to this person, the address would turn the invitation's sign-up away.
        refusals.append(
            Refused(
                gettext(
                    "This address has a pending invitation, sent on %(date)s. Revoke it in "
                    "MANAGE → Invitations before giving the address to this person.",
                    date=format_date(invitation.sent_at),
                ),
                "email",
            )
        )
    return email


def _partner_fields(
    data: dict, refusals: list[Refused], held_occupation: int | None, held_organization: int | None
) -> dict:
    """A partner user's type, organization and occupation; a staff type is not on offer,
    nor a retired occupation or an archived organization unless the person already has it."""
    try:
        user_type = UserType(data.get("user_type"))
    except ValueError:
        user_type = None
    organization = _scoped(PartnerOrganization, data.get("organization"))
    occupation = (
        _scoped(Occupation, data.get("occupation")) if user_type is UserType.MENTOR else None
    )
    refusals.extend(
        refusal
        for refusal in (
            partner_type_refusal(user_type),
            None
            if organization
            else Refused(
                gettext("Choose the person's organization from the list."), "organization"
            ),
            occupation_refusal(user_type, occupation, held=held_occupation),
            _archived_refusal(organization, held=held_organization),
        )
        if refusal is not None
    )
    return {
        "user_type": user_type,
        "partner_organization_id": organization.id if organization else None,
        "occupation_id": occupation.id if occupation else None,
    }


def _archived_refusal(organization: PartnerOrganization | None, held: int | None):
    """No one is moved to an archived organization (no one is added at one until it is
    restored); a person already there stays."""
    if organization is None or organization.id == held:
        return None
    return archived_refusal(organization)


# History --------------------------------------------------------------------------------

# How each recorded action reads; "actor" phrases name who did it, the others say it all.
_PHRASES = {
    ("user_account", "created_managed"): (N_("Added as a managed user"), "actor"),
    ("user_account", "created_from_invitation"): (N_("Signed up from the invitation"), None),
    ("user_account", "authentication_sent"): (N_("Authentication email sent"), "actor"),
    ("user_account", "authenticated"): (N_("Password set; the account is now Active"), None),
    ("user_account", "password_changed"): (N_("Password changed"), None),
    ("user_account", "password_reset"): (N_("Password reset with a recovery link"), None),
    ("user_account", "deactivated"): (N_("Deactivated"), "actor"),
    ("user_account", "reactivated"): (N_("Reactivated"), "actor"),
    ("user_account", "profile_updated"): (N_("Profile edited"), "actor"),
    ("user_account", "email_change_requested"): (N_("New login address requested"), "actor"),
    ("user_account", "email_changed"): (N_("New login address confirmed"), None),
    ("user_account", "signed_up"): (N_("Signed up through a public link"), None),
    ("user_account", "approved"): (N_("Sign-up approved"), "actor"),
    ("invitation", "invited"): (N_("Invited"), "actor"),
    ("invitation", "resent"): (N_("Invitation resent"), "actor"),
    ("invitation", "reviewed"): (N_("Invitation opened"), None),
    ("invitation", "delivery_failed"): (N_("Invitation email could not be delivered"), None),
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
    # An account deleted for good: what was recorded up to its deletion was about it, not
    # about this one, which SQLite (it reuses the last id) may have given the same id.
    deleted_before = (
        scoped(AuditEvent, func.max(AuditEvent.id))
        .where(
            AuditEvent.subject_type == "user_account",
            AuditEvent.subject_id == user.id,
            AuditEvent.action == "deleted",
        )
        .scalar_subquery()
    )
    stmt = (
        scoped(AuditEvent)
        .where(
            or_(
                and_(
                    AuditEvent.subject_type == "user_account",
                    AuditEvent.subject_id == user.id,
                    # Not a deleted account's, whose id SQLite gave to this one.
                    AuditEvent.id > func.coalesce(deleted_before, 0),
                ),
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
        if key in _PHRASES:
            phrase, style = _PHRASES[key]
            phrase = gettext(phrase)
        else:
            phrase, style = event.action.replace("_", " ").capitalize(), "actor"
        if style == "actor":
            phrase = gettext("%(what)s by %(who)s", what=phrase, who=_who(event, user))
        if key == ("user_account", "profile_updated") and event.details.get("fields"):
            labels = [
                gettext(_FIELD_LABELS[name]) if name in _FIELD_LABELS else name
                for name in event.details["fields"]
            ]
            phrase = gettext("%(what)s: %(fields)s", what=phrase, fields=", ".join(labels))
        entries.append(HistoryEntry(event.created_at, phrase))
    return entries


_FIELD_LABELS = {
    "first_name": N_("first name"),
    "last_name": N_("last name"),
    "email": N_("email"),
    "user_type": N_("user type"),
    "partner_organization_id": N_("organization"),
    "occupation_id": N_("occupation"),
}


def _who(event: AuditEvent, user: User) -> str:
    if event.actor_id is None:
        return gettext("System")
    if event.actor_id == user.id:
        return gettext("the person themselves")
    return event.actor.full_name if event.actor else gettext("System")
