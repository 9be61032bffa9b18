"""INVITE: the wizards that invite teammates and partner users, and add managed users."""

from flask import Blueprint, Response, make_response, redirect, request, url_for
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, push_url, render
from ..mail.allowance import MailCapReached
from ..models import UserType, WizardKind
from ..refusals import Refused
from ..security import staff_required
from . import csv_rows, drafts, sending
from .forms import (
    CsvUploadForm,
    ExternalRowForm,
    ManagedRowForm,
    OrganizationChoiceForm,
    TeammateRowForm,
)

bp = Blueprint("invites", __name__)

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
        form.fill(drafts.occupation_choices())
    return form


def _wizard(kind: WizardKind, *, row_form=None, status=200, **extra):
    if kind is WizardKind.MANAGED:
        extra.setdefault("upload_form", CsvUploadForm(formdata=None))
    return render(
        "invites/wizard.html",
        "wizard",
        status=status,
        nav="invite",
        tab=_tab(kind),
        kind=kind.value,
        draft=drafts.get_draft(current_user, kind),
        row_form=row_form or _row_form(kind, formdata=False),
        **extra,
    )


@bp.get("/invite/teammates")
@staff_required
def teammates():
    return _wizard(WizardKind.TEAMMATES)


def _choose_organization(kind: WizardKind, next_endpoint: str):
    draft = drafts.get_draft(current_user, kind)
    form = OrganizationChoiceForm(
        data={"organization": draft.partner_organization_id} if request.method == "GET" else None
    ).fill(drafts.organization_choices())
    if form.validate_on_submit():
        try:
            drafts.choose_organization(draft, form.organization.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            target = url_for(next_endpoint)
            return fragment_or_redirect(
                target, lambda: push_url(make_response(_wizard(kind)), target)
            )
    db.session.commit()  # keeps a newly created draft
    return render(
        "invites/choose_organization.html",
        "choose",
        status=form.status,
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


def _users_step(kind: WizardKind):
    draft = drafts.get_draft(current_user, kind)
    if draft.partner_organization_id is None:
        db.session.commit()
        return redirect(url_for(FIRST_STEPS[kind]))
    return _wizard(kind)


@bp.get("/invite/external/users")
@staff_required
def external_users():
    return _users_step(WizardKind.EXTERNAL)


@bp.get("/invite/managed/users")
@staff_required
def managed_users():
    return _users_step(WizardKind.MANAGED)


def _user_type(kind: WizardKind, chosen: str | None) -> UserType | None:
    """Teammates are staff; anyone else's type is what was chosen (the rules judge it)."""
    if kind is WizardKind.TEAMMATES:
        return UserType.STAFF
    return UserType(chosen) if chosen in {t.value for t in UserType} else None


@bp.post("/invite/<any(teammates, external, managed):slug>/rows")
@staff_required
def add_row(slug):
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind)
    form = _row_form(kind)
    if form.validate_on_submit():
        data = form.data
        person = drafts.RowInput(
            user_type=_user_type(kind, data.get("user_type")),
            email=data["email"],
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            occupation_id=data.get("occupation"),
        )
        try:
            drafts.add_row(draft, person)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            return _wizard(kind)
    db.session.rollback()
    return _wizard(kind, row_form=form, status=422)


@bp.post("/invite/<any(teammates, external, managed):slug>/rows/<int:row_id>/delete")
@staff_required
def remove_row(slug, row_id):
    kind = WIZARD_KINDS[slug]
    drafts.remove_row(drafts.get_draft(current_user, kind), row_id)
    db.session.commit()
    return _wizard(kind)


@bp.post("/invite/<any(teammates, external, managed):slug>/send")
@staff_required
def send(slug):
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind, lock=True)
    try:
        if kind is WizardKind.MANAGED:
            result = sending.create_managed_users(draft, current_user)
        else:
            result = sending.send_invitations(draft, current_user)
    except MailCapReached as refused:  # nothing was sent; the list stays
        db.session.rollback()
        return _wizard(kind, send_refused=refused, status=refused.status)
    except Refused:  # the organization is gone: choose one again
        db.session.rollback()
        return redirect(url_for(FIRST_STEPS[kind]))
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
    draft = drafts.get_draft(current_user, kind)
    form = CsvUploadForm()
    if not form.validate_on_submit():
        return _wizard(kind, upload_form=form, status=422)
    upload = form.csv_file.data
    try:
        check = csv_rows.check_csv(draft, upload.filename or "upload.csv", upload.read())
        added = csv_rows.add_checked_rows(draft, check)
    except Refused as refused:
        db.session.rollback()
        form.refuse(refused)
        return _wizard(kind, upload_form=form, status=422)
    db.session.commit()
    return _wizard(kind, csv_check=check, csv_added=added, status=422 if check.bad_rows else 200)
