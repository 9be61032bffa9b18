"""MANAGE → Invitations: who is pending, and Revoke, Resend, Copy Invitation Link."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..invites.sending import invitation_expiry, queue_invitation_email
from ..invites.tokens import invitation_link, new_nonce
from ..listing import Listing
from ..mail import allowance
from ..models import Invitation, InvitationState, MailMessage, PartnerOrganization, User, utcnow
from ..refusals import Refused
from ..tenancy import parse_id, scoped

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


def visible_invitations():
    """The invitations the current person manages: their sponsor's; a partner administrator's
    own organization's only."""
    stmt = scoped(Invitation)
    if not current_user.is_staff:
        stmt = stmt.where(
            Invitation.partner_organization_id == current_user.partner_organization_id
        )
    return stmt


def invitation_or_404(invitation_id) -> Invitation:
    """One invitation the current person manages; any other is as absent as a missing one."""
    ident = parse_id(invitation_id)
    invitation = (
        db.session.scalar(visible_invitations().where(Invitation.id == ident)) if ident else None
    )
    if invitation is None:
        abort(404)
    return invitation


def list_invitations(listing: Listing) -> Listing:
    now = utcnow()
    stmt = (
        visible_invitations()
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
    """The link stops working at once (its page says it was revoked, to whoever holds it),
    and the address can be invited again."""
    _pending(invitation)
    invitation.state = InvitationState.REVOKED
    invitation.pending_email = None
    invitation.revoked_at = utcnow()
    audit.record("revoked", invitation, actor_id=actor.id)


def resend_invitation(invitation: Invitation, actor: User) -> MailMessage:
    """A new email with a new link and a fresh expiry; a few per address per day.

    The earlier link stops working (an expired one must not come back to life), and the
    invitation is Sent again: whoever opened the earlier email has not seen this one. The
    email counts against the sponsor's daily allowance like any other.
    """
    _pending(invitation)
    refusal = allowance.address_refusal(invitation.sponsor_id, "invitation", invitation.email)
    if refusal:
        raise InvitationRefused(refusal.message)
    allowance.reserve(invitation.sponsor_id, 1)
    now = utcnow()
    invitation.previous_nonce, invitation.nonce = invitation.nonce, new_nonce()
    invitation.sent_at = now
    invitation.expires_at = invitation_expiry(now)
    invitation.reviewed_at = None
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(resend_count=Invitation.resend_count + 1)
        .execution_options(synchronize_session=False)
    )
    message = queue_invitation_email(invitation, actor, invitation.partner_organization)
    audit.record("resent", invitation, actor_id=actor.id)
    return message


def copy_link(invitation: Invitation) -> str:
    _pending(invitation)
    return invitation_link(invitation)
