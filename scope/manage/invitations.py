"""MANAGE → Invitations: the pipeline of invitations, its filters and export, and Revoke,
Resend, Copy Invitation Link on one invitation or many."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..i18n import N_
from ..invites.sending import invitation_expiry, queue_invitation_email
from ..invites.tokens import invitation_link, new_nonce
from ..mail import allowance
from ..mail.services import Outbox
from ..models import (
    Invitation,
    InvitationState,
    MailMessage,
    PartnerOrganization,
    User,
    utcnow,
)
from ..refusals import Refused
from ..security import unproxied
from ..templating import format_number
from ..tenancy import parse_id, scoped
from .actions import EMAILED_TOO_OFTEN, BulkResult

INVITATION_SORTS = {
    "email": (Invitation.email,),
    "type": (Invitation.user_type, Invitation.email),
    "organization": (PartnerOrganization.name_key, Invitation.email),
    "sent": (Invitation.sent_at,),
}
INVITATION_FILTERS = ("status", "organization", "type", "invited_by", "sent_from", "sent_to")
# The Status filter: a pending invitation is Sent, Reviewed or Expired; then the history.
STATUSES = {
    "pending": _l("Pending"),
    "sent": _l("Sent"),
    "reviewed": _l("Reviewed"),
    "expired": _l("Expired"),
    "accepted": _l("Accepted"),
    "revoked": _l("Revoked"),
    "all": _l("Any status"),
}
DEFAULT_STATUS = "pending"


def status_words() -> dict[str, str]:
    """STATUSES worded once for a page: a table shows one on every row, and a lazy string
    is translated again each time it is drawn."""
    return {key: str(label) for key, label in STATUSES.items()}


# The header of the export, in the language of whoever exports.
CSV_COLUMNS = (
    _l("Email"),
    _l("User type"),
    _l("Occupation"),
    _l("Organization"),
    _l("Invited by"),
    _l("Sent"),
    _l("Expires"),
    _l("Status"),
    _l("Resent"),
    _l("Accepted"),
    _l("Revoked"),
)


class InvitationRefused(Refused):
    """An action on an invitation that cannot be done now; the message says why, and
    `reason` is the short form a bulk action counts ("already accepted")."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason


def invitation_status(invitation: Invitation, now: datetime | None = None) -> str:
    if invitation.state is InvitationState.ACCEPTED:
        return "accepted"
    if invitation.state is InvitationState.REVOKED:
        return "revoked"
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


# One invitation ---------------------------------------------------------------------------


def action_refusal(invitation: Invitation) -> InvitationRefused | None:
    """Why Revoke, Resend and Copy Invitation Link are not offered on this invitation: only
    a pending one can be acted on."""
    if invitation.state is InvitationState.ACCEPTED:
        return InvitationRefused(
            gettext("This invitation was already accepted."), N_("already accepted")
        )
    if invitation.state is InvitationState.REVOKED:
        return InvitationRefused(gettext("This invitation was revoked."), N_("already revoked"))
    return None


def _pending(invitation: Invitation) -> None:
    # Lock the row and read it again: a sign-up may have accepted it since it was loaded.
    db.session.refresh(invitation, with_for_update=True)
    refusal = action_refusal(invitation)
    if refusal:
        raise refusal


def revoke_invitation(invitation: Invitation, actor: User) -> None:
    """The link stops working at once (its page says it was revoked, to whoever holds it),
    and the address can be invited again."""
    _pending(invitation)
    _revoke(invitation, actor)


def _revoke(invitation: Invitation, actor: User) -> None:
    invitation.state = InvitationState.REVOKED
    invitation.pending_email = None
    invitation.revoked_at = utcnow()
    invitation.revoked_by_id = actor.id
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
        raise InvitationRefused(refusal.message, EMAILED_TOO_OFTEN)
    allowance.reserve(invitation.sponsor_id, 1)
    _count_resends([invitation.id])
    return _renew(invitation, actor)


def _renew(invitation: Invitation, actor: User) -> MailMessage:
    _new_link(invitation, utcnow())
    message = queue_invitation_email(invitation, actor, invitation.partner_organization)
    audit.record("resent", invitation, actor_id=actor.id)
    return message


def _new_link(invitation: Invitation, now: datetime) -> None:
    invitation.previous_nonce, invitation.nonce = invitation.nonce, new_nonce()
    invitation.sent_at = now
    invitation.expires_at = invitation_expiry(now)
    invitation.reviewed_at = None


def _count_resends(ids: list[int]) -> None:
    db.session.execute(
        update(Invitation)
        .where(Invitation.id.in_(ids))
        .values(resend_count=Invitation.resend_count + 1)
        .execution_options(synchronize_session=False)
    )


def copy_link(invitation: Invitation) -> str:
    _pending(invitation)
    return invitation_link(invitation)


# Many invitations -------------------------------------------------------------------------


def selected_invitations(ids: list[int], lock: bool = False) -> list[Invitation]:
    """The current sponsor's invitations among ids; another sponsor's are simply not there.

    With lock, the rows are held for the transaction, taken in one order (id) and read
    again, so a sign-up that accepted one meanwhile is seen.
    """
    if not ids:
        return []
    stmt = (
        visible_invitations()
        .where(Invitation.id.in_(ids))
        .options(joinedload(Invitation.partner_organization))
        .order_by(Invitation.id)
    )
    if lock:
        stmt = stmt.with_for_update(of=Invitation).execution_options(populate_existing=True)
    return list(db.session.scalars(stmt).unique())


def sort_out(invitations: list[Invitation]) -> tuple[BulkResult, list[Invitation]]:
    """The selected invitations that can be acted on, and the others counted by reason."""
    result, ready = BulkResult(), []
    for invitation in invitations:
        refusal = action_refusal(invitation)
        if refusal:
            result.skipped[gettext(refusal.reason)] += 1
        else:
            ready.append(invitation)
    result.done = len(ready)
    return result, ready


def resend_plan(invitations: list[Invitation], actor: User) -> tuple[BulkResult, list]:
    """Which invitations bulk Resend would email: pending ones whose address has not
    already had its share of invitation emails today (the rule of resend_invitation)."""
    result, ready = sort_out(invitations)
    capped = allowance.address_refusals(actor.sponsor_id, "invitation", [i.email for i in ready])
    fresh = [i for i in ready if i.email not in capped]
    if len(fresh) < len(ready):
        result.skipped[gettext(EMAILED_TOO_OFTEN)] += len(ready) - len(fresh)
    result.done = len(fresh)
    return result, fresh


def bulk_resend(invitations: list[Invitation], actor: User) -> str:
    """Resend every invitation resend_plan() finds; if they do not fit in the sponsor's
    daily allowance, nothing is sent (MailCapReached says how many fit)."""
    actor = unproxied(actor)
    result, ready = resend_plan(invitations, actor)
    allowance.reserve(actor.sponsor_id, len(ready))
    if ready:
        _count_resends([invitation.id for invitation in ready])
    # One time for the batch: the emails of one organization's invitations are one letter.
    now, outbox = utcnow(), Outbox()
    for invitation in ready:
        _new_link(invitation, now)
        queue_invitation_email(invitation, actor, invitation.partner_organization, outbox)
    outbox.send()
    audit.record_many("resent", ready, actor_id=actor.id)
    done = result.done
    return result.message(
        ngettext(
            "%(count)s invitation sent again",
            "%(count)s invitations sent again",
            done,
            count=format_number(done),
        )
    )


def bulk_revoke(invitations: list[Invitation], actor: User) -> str:
    result, ready = sort_out(invitations)
    for invitation in ready:
        _revoke(invitation, actor)
    done = result.done
    return result.message(
        ngettext(
            "%(count)s invitation revoked",
            "%(count)s invitations revoked",
            done,
            count=format_number(done),
        )
    )
