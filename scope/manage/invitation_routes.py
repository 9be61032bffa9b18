"""MANAGE → Invitations: the pipeline with its filters and export, and Revoke, Resend,
Copy Invitation Link on one invitation or many."""

from datetime import date
from urllib.parse import parse_qsl

from flask import Response, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..errors import streamed
from ..extensions import db
from ..htmx import fragment_or_redirect, is_htmx, render, retarget, trigger
from ..invites.partner_admins import inviter_required
from ..listing import PAGE_SIZES, Listing
from ..mail.services import latest_delivery_for_invitations
from ..models import UserType
from ..refusals import Refused
from ..security import staff_required
from ..templating import format_number
from . import bp, users
from . import invitation_listing as listing_service
from . import invitations as service
from .actions import BULK_LIMIT, TooManySelected, parse_ids
from .invitations import invitation_status

# After a bulk action the dialog closes and the table redraws itself.
BULK_DONE = "scope:close-dialog, scope:invitations-changed"


def _listing(args=None, *, acting=False):
    """The Invitations listing a request asks for (its arguments, or the query of "select
    all N matching" when `acting`), as every screen, export and action on it reads it: the
    listing, its Organization filter (staff's: a partner administrator's list is their own
    organization's) and the messages for filter fields that name nothing."""
    args = request.args if args is None else args
    listing = Listing.from_request(
        tuple(service.INVITATION_SORTS), "sent", service.INVITATION_FILTERS, args=args
    )
    if "sort" not in args:
        listing.direction = "desc"
    organization = users.OrganizationFilter()
    if current_user.is_staff:
        organization = users.organization_filter(listing, args, acting=acting)
    problems = listing_service.clean_filters(listing)
    return listing, organization, problems


@bp.get("/invitations")
@inviter_required
def invitations():
    listing, organization, problems = _listing()
    # A typed name that picks no one organization lists nothing, and says why beside it.
    if not organization.picks_nobody:
        listing_service.list_invitations(listing)
    full_page = not is_htmx()
    return render(
        "manage/invitations.html",
        "table",
        nav="manage",
        tab="invitations",
        listing=listing,
        problems=problems,
        deliveries=latest_delivery_for_invitations([i.id for i in listing.items]),
        status_of=invitation_status,
        statuses=service.status_words(),
        user_types=list(UserType),
        organization=organization,
        inviters=listing_service.inviter_options() if full_page else [],
        page_sizes=PAGE_SIZES,
    )


@bp.get("/invitations.csv")
@staff_required
def invitations_csv():
    listing, _, _ = _listing()  # as the page it was exported from
    response = Response(streamed(listing_service.export_csv(listing)), mimetype="text/csv")
    filename = f"scope-invitations-{date.today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    def revoked(invitation):
        message = gettext(
            "Invitation to %(email)s revoked. Its link no longer works.", email=invitation.email
        )
        response = make_response(render("manage/invitations.html", "removed", message=message))
        # The row leaves the list in place (focus moves to the next row's Actions); a
        # redrawn table would lose the focus. Under Revoked it shows on the next visit.
        return trigger(response, "scope:close-dialog")

    return _act(invitation_id, service.revoke_invitation, revoked)


@bp.post("/invitations/<int:invitation_id>/resend")
@inviter_required
def resend_invitation(invitation_id):
    def resent(invitation):
        message = gettext("Invitation to %(email)s sent again.", email=invitation.email)
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
        statuses=service.status_words(),
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


# Many invitations -------------------------------------------------------------------------


def _too_many_invitations() -> str:
    return gettext(
        "Select at most %(count)s invitations at a time.", count=format_number(BULK_LIMIT)
    )


def _selection(source: MultiDict):
    """The selected invitations of this sponsor (ticked ones, or every one the filters of
    "select all N matching" select), or a message saying why there are none to act on."""
    try:
        if "matching" in source:
            query = MultiDict(parse_qsl(source["matching"]))
            listing, _, _ = _listing(query, acting=True)
            ids = listing_service.matching_ids(listing, BULK_LIMIT + 1)
            if len(ids) > BULK_LIMIT:
                raise TooManySelected(
                    gettext(
                        "Select at most %(count)s invitations at a time: narrow the filters first.",
                        count=format_number(BULK_LIMIT),
                    )
                )
        else:
            ids = parse_ids(source.getlist("invitation_id"), _too_many_invitations)
        selected = service.selected_invitations(ids, lock=request.method == "POST")
    except Refused as refused:
        return [], refused.message
    if not selected:
        return [], gettext("No invitations selected. Tick the boxes beside them first.")
    return selected, None


def _bulk(kind: str, plan, act):
    source = request.form if request.method == "POST" else request.args
    selected, problem = _selection(source)
    if request.method == "POST" and not problem:
        try:
            message = act(selected, current_user)
        except Refused as refused:
            db.session.rollback()
            problem = refused.message
        else:
            db.session.commit()
            return _bulk_done(message)
    invalid = request.method == "POST"
    result = plan(selected)[0] if selected else None
    response = make_response(
        render(
            "manage/bulk_invitations.html",
            "dialog_body" if invalid else "dialog",
            status=422 if invalid else 200,
            nav="manage",
            kind=kind,
            invitations=selected,
            plan=result,
            problem=problem,
        )
    )
    if invalid and is_htmx():
        retarget(response, "#bulk-invitations-form")
    return response


@bp.route("/invitations/bulk/resend", methods=["GET", "POST"])
@staff_required
def bulk_resend():
    return _bulk(
        "resend",
        lambda selected: service.resend_plan(selected, current_user),
        service.bulk_resend,
    )


@bp.route("/invitations/bulk/revoke", methods=["GET", "POST"])
@staff_required
def bulk_revoke():
    return _bulk("revoke", service.sort_out, service.bulk_revoke)


def _bulk_done(message: str):
    return fragment_or_redirect(
        url_for("manage.invitations"),
        lambda: trigger(
            make_response(render("manage/invitations.html", "notice", message=message)),
            BULK_DONE,
        ),
        message,
    )
