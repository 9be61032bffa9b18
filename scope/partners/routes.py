"""PARTNERS: employers, providers and occupations."""

from flask import Blueprint, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, is_htmx, render, retarget, trigger
from ..i18n import N_
from ..listing import Listing
from ..manage.invitations import invitation_status
from ..models import OrganizationKind, PartnerOrganization
from ..public_links import services as public_links
from ..refusals import Refused
from ..security import staff_required
from ..tenancy import current_sponsor_id, get_or_404
from ..text import clean_line
from . import picker, services
from .forms import EmployerForm, OrganizationForm

bp = Blueprint("partners", __name__, url_prefix="/partners")


def _form_class(kind: OrganizationKind):
    return EmployerForm if kind is OrganizationKind.EMPLOYER else OrganizationForm


def _listing(kind: OrganizationKind) -> Listing:
    listing = Listing.from_request(
        tuple(services.ORGANIZATION_SORTS), "name", filters=("archived",)
    )
    return services.list_organizations(kind, listing)


def _organizations(kind: OrganizationKind):
    return render(
        "partners/organizations.html",
        "table",
        nav="partners",
        kind=kind,
        listing=_listing(kind),
    )


@bp.get("/employers")
@staff_required
def employers():
    return _organizations(OrganizationKind.EMPLOYER)


@bp.get("/providers")
@staff_required
def providers():
    return _organizations(OrganizationKind.PROVIDER)


@bp.route("/<any(employers, providers):slug>/new", methods=["GET", "POST"])
@staff_required
def new_organization(slug):
    kind = OrganizationKind.from_slug(slug)
    form = _form_class(kind)()
    if form.validate_on_submit():
        try:
            organization = services.create_organization(current_sponsor_id(), kind, form.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            # The new row goes to the top of the table, the pager's count follows it.
            return fragment_or_redirect(
                url_for(f"partners.{slug}"),
                lambda: trigger(
                    make_response(
                        render(
                            "partners/organizations.html",
                            "created",
                            organization=organization,
                            new=True,
                            listing=_listing(kind),
                            kind=kind,
                        )
                    ),
                    "scope:close-dialog",
                ),
            )
    response = make_response(
        render(
            "partners/new_organization.html",
            "dialog_body" if form.errors else "dialog",
            status=form.status,
            nav="partners",
            kind=kind,
            form=form,
        )
    )
    if form.errors and is_htmx():
        retarget(response, "#organization-form")
    return response


def _organization_page(organization: PartnerOrganization, block: str, **context):
    return render(
        "partners/organization.html",
        block,
        nav="partners",
        organization=organization,
        users=services.organization_users(organization),
        invitations=services.organization_pending_invitations(organization),
        shown=services.PENDING_SHOWN,
        status_of=invitation_status,
        public_links=public_links.sponsor_links(organization.id),
        **context,
    )


@bp.get("/organizations/search")
@staff_required
def organization_search():
    """The pickers' options as one types (htmx), or a page of matches linking to each."""
    typed = clean_line(request.args.get("organization_name", ""))[: picker.MAX_QUERY]
    # The wizards' picker (it offers to create) leaves archived organizations out.
    offer = request.args.get("create") == "employer"
    matches = picker.search(typed, archived=not offer)
    return render(
        "partners/organization_search.html",
        "options",
        nav="partners",
        typed=typed,
        matches=matches,
        create=picker.create_offer(typed, matches) if offer else None,
    )


@bp.get("/organizations/<int:organization_id>")
@staff_required
def organization(organization_id):
    return _organization_page(get_or_404(PartnerOrganization, organization_id), "details")


@bp.route("/organizations/<int:organization_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_organization(organization_id):
    organization = get_or_404(PartnerOrganization, organization_id)
    form = _form_class(organization.kind)(obj=organization)
    if form.validate_on_submit():
        try:
            services.update_organization(organization, form.data, current_user)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(
                url_for("partners.organization", organization_id=organization.id),
                lambda: render("partners/organization.html", "details", organization=organization),
            )
    if form.errors:
        db.session.rollback()
    return _organization_page(
        organization, "edit_form", status=form.status, form=form, editing=True
    )


def lifecycle(record, action, done: str, page: str, gone_page: str | None = None):
    """Archive, retire, restore, delete…: confirmed in the page; a refusal says why and
    changes nothing. `record` was read with its row locked; `gone_page` is where a deleted
    one sends the person."""
    name = record.name
    try:
        action(record, current_user)
    except Refused as refused:
        db.session.rollback()
        return fragment_or_redirect(page, None, refused.message, ok=False)
    db.session.commit()
    return fragment_or_redirect(gone_page or page, None, gettext(done, name=name))


def _lifecycle(organization_id: int, action, done: str):
    organization = get_or_404(PartnerOrganization, organization_id, lock=True)
    return lifecycle(
        organization,
        action,
        done,
        url_for("partners.organization", organization_id=organization.id),
        url_for("partners." + organization.kind.slug)
        if action is services.delete_organization
        else None,
    )


@bp.post("/organizations/<int:organization_id>/archive")
@staff_required
def archive_organization(organization_id):
    return _lifecycle(
        organization_id,
        services.archive_organization,
        N_("%(name)s archived. Its users and history are kept; restore it from its page."),
    )


@bp.post("/organizations/<int:organization_id>/restore")
@staff_required
def restore_organization(organization_id):
    return _lifecycle(organization_id, services.restore_organization, N_("%(name)s restored."))


@bp.post("/organizations/<int:organization_id>/delete")
@staff_required
def delete_organization(organization_id):
    return _lifecycle(organization_id, services.delete_organization, N_("%(name)s deleted."))
