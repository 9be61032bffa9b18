"""MANAGE → Invitations: the pending invitations, and Revoke, Resend, Copy Invitation Link."""

from flask import make_response, request, url_for
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, render, trigger
from ..invites.partner_admins import inviter_required
from ..listing import Listing
from ..mail.services import latest_delivery_for_invitations
from ..refusals import Refused
from . import bp
from . import invitations as service
from .invitations import invitation_status


@bp.get("/invitations")
@inviter_required
def invitations():
    listing = Listing.from_request(tuple(service.INVITATION_SORTS), "sent", filters=("status",))
    if "sort" not in request.args:
        listing.direction = "desc"
    service.list_invitations(listing)
    return render(
        "manage/invitations.html",
        "table",
        nav="manage",
        tab="invitations",
        listing=listing,
        deliveries=latest_delivery_for_invitations([i.id for i in listing.items]),
        status_of=invitation_status,
    )


def _refused(refused: Refused):
    """A refused action: a notice for htmx; for a plain form post, the list with the message."""
    return fragment_or_redirect(
        url_for("manage.invitations"),
        lambda: render(
            "manage/invitations.html", "notice", status=refused.status, message=refused.message
        ),
        refused.message,
        ok=False,
    )


def _act(invitation_id: int, action, answer):
    """Do an action to one of this sponsor's invitations and answer with what it changed."""
    invitation = service.invitation_or_404(invitation_id)
    try:
        action(invitation, current_user)
    except Refused as refused:
        db.session.rollback()
        return _refused(refused)
    db.session.commit()
    return fragment_or_redirect(url_for("manage.invitations"), lambda: answer(invitation))


@bp.post("/invitations/<int:invitation_id>/revoke")
@inviter_required
def revoke_invitation(invitation_id):
    def removed(invitation):
        message = f"Invitation to {invitation.email} revoked. Its link no longer works."
        response = make_response(render("manage/invitations.html", "removed", message=message))
        return trigger(response, "scope:close-dialog")

    return _act(invitation_id, service.revoke_invitation, removed)


@bp.post("/invitations/<int:invitation_id>/resend")
@inviter_required
def resend_invitation(invitation_id):
    def resent(invitation):
        message = f"Invitation to {invitation.email} sent again."
        if request.args.get("from") == "wizard":
            return render("manage/invitations.html", "notice", message=message)
        return _invitation_row(invitation, message)

    return _act(invitation_id, service.resend_invitation, resent)


def _invitation_row(invitation, message=None):
    return render(
        "manage/invitations.html",
        "row",
        invitation=invitation,
        deliveries=latest_delivery_for_invitations([invitation.id]),
        status_of=invitation_status,
        message=message,
    )


@bp.get("/invitations/<int:invitation_id>/revoke")
@inviter_required
def confirm_revoke(invitation_id):
    invitation = service.invitation_or_404(invitation_id)
    return render("manage/confirm_revoke.html", "dialog", nav="manage", invitation=invitation)


@bp.get("/invitations/<int:invitation_id>/link")
@inviter_required
def invitation_link(invitation_id):
    invitation = service.invitation_or_404(invitation_id)
    try:
        link = service.copy_link(invitation)
    except Refused as refused:
        return _refused(refused)
    return render(
        "manage/invitation_link.html",
        "dialog",
        nav="manage",
        invitation=invitation,
        link=link,
        expired=invitation_status(invitation) == "expired",
    )
