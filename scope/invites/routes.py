"""INVITE (the wizards) and MANAGE → Invitations."""

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

from ..extensions import db, limiter
from ..htmx import is_htmx, push_url, render, trigger
from ..listing import Listing
from ..mail.services import latest_delivery_for_invitations
from ..models import Invitation, UserType, WizardKind
from ..security import staff_required
from ..tenancy import get_or_404
from . import csv_rows, services
from .forms import (
    CsvUploadForm,
    ExternalRowForm,
    ManagedRowForm,
    OrganizationChoiceForm,
    TeammateRowForm,
)

bp = Blueprint("invites", __name__)

WIZARD_KINDS = {
    "teammates": WizardKind.TEAMMATES,
    "external": WizardKind.EXTERNAL,
    "managed": WizardKind.MANAGED,
}
ROW_FORMS = {
    WizardKind.TEAMMATES: TeammateRowForm,
    WizardKind.EXTERNAL: ExternalRowForm,
    WizardKind.MANAGED: ManagedRowForm,
}


def _tab(kind: WizardKind) -> str:
    return "managed" if kind is WizardKind.MANAGED else "authenticated"


@bp.get("/invite/")
@staff_required
def index():
    return render("invites/index.html", nav="invite", tab="authenticated")


@bp.get("/invite/managed")
@staff_required
def managed():
    return render("invites/managed.html", nav="invite", tab="managed")


def _row_form(kind: WizardKind, formdata=True):
    form = ROW_FORMS[kind]() if formdata else ROW_FORMS[kind](formdata=None)
    if kind is not WizardKind.TEAMMATES:
        form.fill(services.occupation_choices())
    return form


def _wizard(kind: WizardKind, *, row_form=None, result=None, status=200, **extra):
    if kind is WizardKind.MANAGED:
        extra.setdefault("upload_form", CsvUploadForm(formdata=None))
    return render(
        "invites/wizard.html",
        "wizard",
        status=status,
        nav="invite",
        tab=_tab(kind),
        kind=kind.value,
        draft=services.get_draft(current_user, kind),
        row_form=row_form or _row_form(kind, formdata=False),
        result=result,
        **extra,
    )


@bp.get("/invite/teammates")
@staff_required
def teammates():
    return _wizard(WizardKind.TEAMMATES)


def _choose_organization(kind: WizardKind, next_endpoint: str):
    draft = services.get_draft(current_user, kind)
    form = OrganizationChoiceForm(
        data={"organization": draft.partner_organization_id} if request.method == "GET" else None
    ).fill(services.organization_choices())
    if form.validate_on_submit():
        try:
            services.choose_organization(draft, form.organization.data)
        except services.RowRefused as refused:
            form.organization.errors.append(refused.problem.message)
        else:
            db.session.commit()
            target = url_for(next_endpoint)
            if not is_htmx():
                return redirect(target)
            return push_url(make_response(_wizard(kind)), target)
    db.session.commit()  # keeps a newly created draft
    return render(
        "invites/choose_organization.html",
        "choose",
        status=422 if form.errors else 200,
        nav="invite",
        tab=_tab(kind),
        form=form,
        managed=kind is WizardKind.MANAGED,
        has_organizations=any(form.groups.values()),
    )


@bp.route("/invite/external", methods=["GET", "POST"])
@staff_required
def external():
    return _choose_organization(WizardKind.EXTERNAL, "invites.external_users")


@bp.route("/invite/managed/organization", methods=["GET", "POST"])
@staff_required
def managed_organization():
    return _choose_organization(WizardKind.MANAGED, "invites.managed_users")


def _users_step(kind: WizardKind, first_step: str):
    draft = services.get_draft(current_user, kind)
    if draft.partner_organization_id is None:
        db.session.commit()
        return redirect(url_for(first_step))
    return _wizard(kind)


@bp.get("/invite/external/users")
@staff_required
def external_users():
    return _users_step(WizardKind.EXTERNAL, "invites.external")


@bp.get("/invite/managed/users")
@staff_required
def managed_users():
    return _users_step(WizardKind.MANAGED, "invites.managed_organization")


@bp.post("/invite/<any(teammates, external, managed):slug>/rows")
@staff_required
def add_row(slug):
    kind = WIZARD_KINDS[slug]
    draft = services.get_draft(current_user, kind)
    form = _row_form(kind)
    if form.validate_on_submit():
        data = form.data
        try:
            services.add_row(
                draft,
                user_type=UserType(data.get("user_type") or UserType.STAFF),
                email=data["email"],
                occupation_id=data.get("occupation"),
                first_name=data.get("first_name"),
                last_name=data.get("last_name"),
            )
        except services.RowRefused as refused:
            getattr(form, refused.problem.field, form.email).errors.append(refused.problem)
        else:
            db.session.commit()
            return _wizard(kind)
    db.session.rollback()
    return _wizard(kind, row_form=form, status=422)


@bp.post("/invite/<any(teammates, external, managed):slug>/rows/<int:row_id>/delete")
@staff_required
def remove_row(slug, row_id):
    kind = WIZARD_KINDS[slug]
    services.remove_row(services.get_draft(current_user, kind), row_id)
    db.session.commit()
    return _wizard(kind)


def _sponsor_key() -> str:
    return f"invitations-sent:{getattr(current_user, 'sponsor_id', None)}"


def _invitations_per_day() -> str:
    return f"{int(current_app.config['INVITATIONS_PER_SPONSOR_PER_DAY'])} per day"


def _rows_to_send() -> int:
    """Each invitation counts against the sponsor's daily allowance; managed rows send nothing."""
    slug = request.view_args.get("slug")
    if slug == "managed" or not current_user.is_authenticated or not current_user.is_staff:
        return 0
    return len(services.get_draft(current_user, WIZARD_KINDS[slug]).rows)


@bp.post("/invite/<any(teammates, external, managed):slug>/send")
@staff_required
@limiter.limit(_invitations_per_day, key_func=_sponsor_key, cost=_rows_to_send)
def send(slug):
    kind = WIZARD_KINDS[slug]
    draft = services.get_draft(current_user, kind)
    try:
        if kind is WizardKind.MANAGED:
            result = services.create_managed_users(draft, current_user)
        else:
            result = services.send_invitations(draft, current_user)
    except services.RowRefused:
        db.session.rollback()
        return redirect(
            url_for("invites.managed_organization" if slug == "managed" else "invites.external")
        )
    db.session.commit()
    return _wizard(kind, result=result)


@bp.get("/invite/managed/template.csv")
@staff_required
def managed_template():
    return Response(
        csv_rows.template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=scope-managed-users.csv"},
    )


@bp.post("/invite/managed/upload")
@staff_required
def managed_upload():
    kind = WizardKind.MANAGED
    draft = services.get_draft(current_user, kind)
    form = CsvUploadForm()
    if not form.validate_on_submit():
        return _wizard(kind, upload_form=form, status=422)
    upload = form.csv_file.data
    try:
        check = csv_rows.check_csv(draft, upload.filename or "upload.csv", upload.read())
        added = csv_rows.add_checked_rows(draft, check)
    except csv_rows.CsvRefused as refused:
        db.session.rollback()
        form.csv_file.errors.append(str(refused))
        return _wizard(kind, upload_form=form, status=422)
    db.session.commit()
    return _wizard(kind, csv_check=check, csv_added=added, status=422 if check.bad_rows else 200)


# ---------------------------------------------------------------- MANAGE → Invitations


@bp.get("/manage/invitations")
@staff_required
def invitations():
    listing = Listing.from_request(tuple(services.INVITATION_SORTS), "sent", filters=("status",))
    if "sort" not in request.args:
        listing.direction = "desc"
    services.list_invitations(listing)
    return render(
        "invites/invitations.html",
        "table",
        nav="manage",
        tab="invitations",
        listing=listing,
        deliveries=latest_delivery_for_invitations([i.id for i in listing.items]),
        status_of=services.invitation_status,
    )


def _refused(error: services.InvitationError):
    """A refused action: a notice for htmx; for a plain form post, the list with the message."""
    if not is_htmx():
        flash(str(error), "error")
        return redirect(url_for("invites.invitations"))
    return render("invites/invitations.html", "notice", status=409, message=str(error))


def _invitation_row(invitation, message=None, status=200):
    return render(
        "invites/invitations.html",
        "row",
        status=status,
        invitation=invitation,
        deliveries=latest_delivery_for_invitations([invitation.id]),
        status_of=services.invitation_status,
        message=message,
    )


@bp.post("/manage/invitations/<int:invitation_id>/revoke")
@staff_required
def revoke(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    try:
        services.revoke_invitation(invitation, current_user)
    except services.InvitationError as error:
        return _refused(error)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("invites.invitations"))
    response = make_response(
        render(
            "invites/invitations.html",
            "removed",
            message=f"Invitation to {invitation.email} revoked. Its link no longer works.",
        )
    )
    return trigger(response, "scope:close-dialog")


@bp.post("/manage/invitations/<int:invitation_id>/resend")
@staff_required
def resend(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    try:
        services.resend_invitation(invitation, current_user)
    except services.InvitationError as error:
        return _refused(error)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("invites.invitations"))
    if request.args.get("from") == "wizard":
        return render(
            "invites/invitations.html",
            "notice",
            message=f"Invitation to {invitation.email} sent again.",
        )
    return _invitation_row(invitation, message=f"Invitation to {invitation.email} sent again.")


@bp.get("/manage/invitations/<int:invitation_id>/revoke")
@staff_required
def confirm_revoke(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    return render("invites/confirm_revoke.html", "dialog", nav="manage", invitation=invitation)


@bp.get("/manage/invitations/<int:invitation_id>/link")
@staff_required
def invitation_link(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    try:
        link = services.copy_link(invitation)
    except services.InvitationError as error:
        return _refused(error)
    return render(
        "invites/invitation_link.html",
        "dialog",
        nav="manage",
        invitation=invitation,
        link=link,
        expired=services.invitation_status(invitation) == "expired",
    )
