"""INVITE: the page, the wizards' steps, and how a wizard is drawn.

The routes that change a wizard's list are in list_routes.py.
"""

from flask import make_response, redirect, request, url_for
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, push_url, render
from ..models import WizardKind
from ..partners import picker
from ..partners.occupations import occupation_choices
from ..refusals import Refused
from ..security import staff_required
from . import bp, drafts, partner_admins
from .forms import (
    CsvUploadForm,
    ExternalRowForm,
    ManagedRowForm,
    OrganizationChoiceForm,
    TeammateRowForm,
)
from .partner_admins import inviter_required

WIZARD_KINDS = {kind.value: kind for kind in WizardKind}
ROW_FORMS = {
    WizardKind.TEAMMATES: TeammateRowForm,
    WizardKind.EXTERNAL: ExternalRowForm,
    WizardKind.MANAGED: ManagedRowForm,
}
# The wizard's first step, where the organization is chosen.
FIRST_STEPS = {
    WizardKind.EXTERNAL: "invites.external",
    WizardKind.MANAGED: "invites.managed_organization",
}


def _tab(kind: WizardKind) -> str:
    return "managed" if kind is WizardKind.MANAGED else "authenticated"


def _waiting(kind: WizardKind | None = None) -> list[drafts.WaitingList]:
    return [w for w in drafts.waiting_lists(current_user) if kind is None or w.kind is kind]


@bp.get("/invite/")
@inviter_required
def index():
    if not current_user.is_staff:  # a partner administrator: the wizard for their organization
        return redirect(url_for("invites.external_users"))
    return render("invites/index.html", nav="invite", tab="authenticated", waiting=_waiting())


@bp.get("/invite/managed")
@staff_required
def managed():
    return render(
        "invites/managed.html", nav="invite", tab="managed", waiting=_waiting(WizardKind.MANAGED)
    )


def row_form(kind: WizardKind, draft, formdata=True):
    """The wizard's row form: as posted, or as last typed (a reload loses nothing)."""
    form_class = ROW_FORMS[kind]
    if formdata:
        form = form_class()
    else:
        form = form_class(
            formdata=None,
            data={
                **(draft.typed or {}),
                "message": draft.message,
                "language": drafts.batch_language(draft),
            },
        )
    if kind is not WizardKind.TEAMMATES:
        form.fill(occupation_choices())
    if not current_user.is_staff:
        allowed = partner_admins.invitable_types(current_user, draft.partner_organization)
        form.user_type.choices = [
            choice for choice in form.user_type.choices if choice.value in ("", *allowed)
        ]
    return form


def wizard(kind: WizardKind, *, form=None, status=200, **extra):
    """The wizard with the list open now; `form` is the row form with what was typed."""
    draft = drafts.get_draft(current_user, kind)
    if kind is not WizardKind.TEAMMATES:
        extra.setdefault("upload_form", CsvUploadForm(formdata=None))
        extra.setdefault("csv_added", None)
    rows = drafts.current_rows(draft)
    return render(
        "invites/wizard.html",
        "wizard",
        status=status,
        nav="invite",
        tab=_tab(kind),
        kind=kind.value,
        draft=draft,
        rows=rows,
        others=[w for w in _waiting(kind) if w.organization != draft.partner_organization],
        row_form=form or row_form(kind, draft, formdata=False),
        closed=drafts.closed_reason(draft),
        **extra,
    )


@bp.get("/invite/teammates")
@staff_required
def teammates():
    return wizard(WizardKind.TEAMMATES)


def _choose_organization(kind: WizardKind, next_endpoint: str):
    draft = drafts.get_draft(current_user, kind)
    chosen = draft.partner_organization if request.method == "GET" else None
    form = OrganizationChoiceForm(
        data={"organization": chosen.id, "organization_name": chosen.name} if chosen else None
    )
    offered = picker.NotPicked("")
    if form.validate_on_submit():
        try:
            organization = picker.pick(
                form.organization.data,
                form.organization_name.data,
                choice=form.organization_choice.data,
                may_create=True,
            )
            drafts.choose_organization(draft, organization.id)
        except picker.NotPicked as refused:
            form.refuse(refused)
            offered = refused
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            target = url_for(next_endpoint)
            return fragment_or_redirect(
                target, lambda: push_url(make_response(wizard(kind)), target)
            )
    db.session.commit()  # keeps a newly created draft
    return render(
        "invites/choose_organization.html",
        "choose",
        status=form.status,
        nav="invite",
        tab=_tab(kind),
        form=form,
        offered=offered,
        managed=kind is WizardKind.MANAGED,
        has_organizations=drafts.has_organizations(),
    )


@bp.route("/invite/external", methods=["GET", "POST"])
@inviter_required
def external():
    if not current_user.is_staff:  # their own organization, always
        draft = drafts.get_draft(current_user, WizardKind.EXTERNAL)
        drafts.choose_organization(draft, current_user.partner_organization_id)
        db.session.commit()
        return redirect(url_for("invites.external_users"))
    return _choose_organization(WizardKind.EXTERNAL, "invites.external_users")


@bp.route("/invite/managed/organization", methods=["GET", "POST"])
@staff_required
def managed_organization():
    return _choose_organization(WizardKind.MANAGED, "invites.managed_users")


def _users_step(kind: WizardKind):
    draft = drafts.get_draft(current_user, kind)
    partner_organization = current_user.partner_organization_id
    if not current_user.is_staff and draft.partner_organization_id != partner_organization:
        # A partner administrator invites to their own organization: after staff moved them
        # to another one, the wizard follows them there (the rows of the old one stay).
        drafts.choose_organization(draft, partner_organization)
        db.session.commit()
    if draft.partner_organization_id is None:
        db.session.commit()
        return redirect(url_for(FIRST_STEPS[kind]))
    return wizard(kind)


@bp.get("/invite/external/users")
@inviter_required
def external_users():
    return _users_step(WizardKind.EXTERNAL)


@bp.get("/invite/managed/users")
@staff_required
def managed_users():
    return _users_step(WizardKind.MANAGED)
