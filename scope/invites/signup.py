"""The emailed invitation link's side: is it usable, the person reading it, the account it makes."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.passwords import hash_password
from ..auth.services import login_account
from ..extensions import db
from ..models import Invitation, InvitationState, User, UserStatus, utcnow
from ..notices import services as notices
from ..refusals import Refused
from .tokens import parse_token, token_matches


class LinkUnavailable(Refused):
    """The link cannot be used; reason is one of invalid, expired, revoked, used, replaced,
    taken."""

    def __init__(self, reason: str, invitation: Invitation | None = None):
        super().__init__(
            gettext("This invitation link cannot be used (%(reason)s).", reason=reason)
        )
        self.reason = reason
        self.invitation = invitation


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link is for. Without a valid MAC nothing about the invitation is
    told (not even that it exists); with the MAC of a link a resend replaced, that a newer
    email was sent."""
    parsed = parse_token(token)
    invitation = db.session.get(Invitation, parsed[0]) if parsed else None
    if invitation is None or not token_matches(invitation, parsed[1]):
        previous = invitation is not None and invitation.previous_nonce
        if not (previous and token_matches(invitation, parsed[1], previous)):
            raise LinkUnavailable("invalid")
        if invitation.state is InvitationState.PENDING:
            raise LinkUnavailable("replaced", invitation)
        # An earlier link of an invitation since used or revoked says what happened to it.
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


def _sponsor_has(invitation: Invitation) -> bool:
    """The inviting sponsor already has a record of this address (a managed one, made after
    the invitation was sent): it is converted, not duplicated."""
    stmt = select(User.id).where(
        User.sponsor_id == invitation.sponsor_id, User.email == invitation.email
    )
    return db.session.scalar(stmt) is not None


def accept_invitation(invitation: Invitation, *, first_name: str, last_name: str, password: str):
    """Create the Active account; of simultaneous submissions of one link, one wins.

    Raises LinkUnavailable when another submission won or the address has an account; the
    caller rolls back.
    """
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
        raise LinkUnavailable("used")
    if login_account(invitation.email) is not None or _sponsor_has(invitation):
        raise LinkUnavailable("taken", invitation)
    try:
        with db.session.begin_nested():
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
            )
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
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
    notices.invitation_accepted(invitation, user)
    return user
