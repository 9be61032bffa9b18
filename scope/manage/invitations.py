"""MANAGE → Invitations: who is pending, and Revoke, Resend, Copy Invitation Link."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..invites.sending import invitation_expiry, queue_invitation_email
from ..invites.tokens import invitation_link, new_nonce
from ..listing import Listing
from ..models import Invitation, InvitationState, MailMessage, PartnerOrganization, User, utcnow
from ..refusals import Refused
from ..tenancy import scoped

RESENDS_PER_DAY = 3

INVITATION_SORTS = {
    "email": (Invitation.email,),
    "type": (Invitation.user_type, Invitation.email),
    "organization": (PartnerOrganization.name_key, Invitation.email),
    "sent": (Invitation.sent_at,),
}


class InvitationRefused(Refused):
    """An action on an invitation that cannot be done now; the message says why."""


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
        raise InvitationRefused(
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
    """A new email with a fresh expiry; a few per address per day.

    The invitation is Sent again: whoever opened the earlier email has not seen this one.
    """
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
        raise InvitationRefused(
            f"This invitation was already sent {recent} times in the last 24 hours. "
            "Try again tomorrow, or use Copy Invitation Link."
        )
    now = utcnow()
    invitation.sent_at = now
    invitation.expires_at = invitation_expiry(now)
    invitation.reviewed_at = None
    invitation.resend_count += 1
    message = queue_invitation_email(invitation, actor, invitation.partner_organization)
    audit.record("resent", invitation, actor_id=actor.id)
    return message


def copy_link(invitation: Invitation) -> str:
    _pending(invitation)
    return invitation_link(invitation)
