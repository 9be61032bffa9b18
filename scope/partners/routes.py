from flask import Blueprint, make_response, redirect, url_for

from ..extensions import db
from ..htmx import is_htmx, render, retarget, trigger
from ..listing import Listing
from ..models import OrganizationKind, PartnerOrganization
from ..security import staff_required
from ..tenancy import current_sponsor_id, get_or_404
from . import services
from .forms import EmployerForm, OccupationForm, OrganizationForm

bp = Blueprint("partners", __name__, url_prefix="/partners")

KINDS = {"employers": OrganizationKind.EMPLOYER, "providers": OrganizationKind.PROVIDER}


def _form_class(kind: OrganizationKind):
    return EmployerForm if kind is OrganizationKind.EMPLOYER else OrganizationForm


def _kind_slug(kind: OrganizationKind) -> str:
    return "employers" if kind is OrganizationKind.EMPLOYER else "providers"


def _duplicate_message(kind: OrganizationKind, name: str) -> str:
    article = "employer" if kind is OrganizationKind.EMPLOYER else "education provider"
    return f"An {article} named “{name}” already exists."


def _organizations(kind: OrganizationKind):
    listing = Listing.from_request(tuple(services.ORGANIZATION_SORTS), "name")
    services.list_organizations(kind, listing)
    return render(
        "partners/organizations.html",
        "table",
        nav="partners",
        kind=kind,
        slug=_kind_slug(kind),
        listing=listing,
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
    kind = KINDS[slug]
    form = _form_class(kind)()
    if form.validate_on_submit():
        try:
            organization = services.create_organization(current_sponsor_id(), kind, form.data)
        except services.DuplicateName:
            form.name.errors.append(_duplicate_message(kind, form.name.data))
        else:
            db.session.commit()
            if not is_htmx():
                return redirect(url_for(f"partners.{slug}"))
            # The new row goes to the top of the table, the pager's count follows it.
            listing = Listing.from_request(tuple(services.ORGANIZATION_SORTS), "name")
            services.list_organizations(kind, listing)
            response = make_response(
                render(
                    "partners/organizations.html",
                    "created",
                    organization=organization,
                    new=True,
                    listing=listing,
                    slug=slug,
                )
            )
            return trigger(response, "scope:close-dialog")
    response = make_response(
        render(
            "partners/new_organization.html",
            "dialog" if not form.errors else "form",
            status=422 if form.errors else 200,
            nav="partners",
            kind=kind,
            slug=slug,
            form=form,
        )
    )
    if form.errors and is_htmx():
        retarget(response, "#organization-form")
    return response


@bp.get("/organizations/<int:organization_id>")
@staff_required
def organization(organization_id):
    organization = get_or_404(PartnerOrganization, organization_id)
    return render(
        "partners/organization.html",
        "details",
        nav="partners",
        organization=organization,
        users=services.organization_users(organization),
        slug=_kind_slug(organization.kind),
    )


@bp.route("/organizations/<int:organization_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_organization(organization_id):
    organization = get_or_404(PartnerOrganization, organization_id)
    form = _form_class(organization.kind)(obj=organization)
    if form.validate_on_submit():
        try:
            services.update_organization(organization, form.data)
        except services.DuplicateName:
            form.name.errors.append(_duplicate_message(organization.kind, form.name.data))
        else:
            db.session.commit()
            if not is_htmx():
                return redirect(url_for("partners.organization", organization_id=organization.id))
            return render("partners/organization.html", "details", organization=organization)
    if form.errors:
        db.session.rollback()
    return render(
        "partners/organization.html",
        "edit_form",
        status=422 if form.errors else 200,
        nav="partners",
        organization=organization,
        form=form,
        editing=True,
        users=services.organization_users(organization),
        slug=_kind_slug(organization.kind),
    )


@bp.route("/occupations", methods=["GET", "POST"])
@staff_required
def occupations():
    form = OccupationForm()
    if form.validate_on_submit():
        try:
            occupation = services.create_occupation(current_sponsor_id(), form.data)
        except services.DuplicateName:
            form.name.errors.append(f"An occupation named “{form.name.data}” already exists.")
        else:
            db.session.commit()
            if not is_htmx():
                return redirect(url_for("partners.occupations"))
            response = make_response(
                render(
                    "partners/occupations.html",
                    "created",
                    occupation=occupation,
                    form=OccupationForm(formdata=None),
                    counts={},
                )
            )
            return response
    return render(
        "partners/occupations.html",
        "occupation_form",
        status=422 if form.errors else 200,
        nav="partners",
        form=form,
        occupations=services.list_occupations(),
        counts=services.occupation_user_counts(),
    )
