"""INVITE: what changes a wizard's list — ADD+, a pasted list, a CSV file, what is typed,
and SEND INVITATIONS / CREATE USERS +."""

from flask import Response, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..extensions import db
from ..mail.allowance import MailCapReached
from ..models import UserType, WizardKind
from ..refusals import Refused
from . import bp, csv_rows, drafts, sending
from .forms import CsvUploadForm
from .partner_admins import inviter_required
from .routes import FIRST_STEPS, row_form, wizard
from .rows import RowInput

WIZARD_KINDS = {kind.value: kind for kind in WizardKind}
SLUGS = "<any(teammates, external, managed):slug>"


def _user_type(kind: WizardKind, chosen: str | None) -> UserType | None:
    """Teammates are staff; anyone else's type is what was chosen (the rules judge it)."""
    if kind is WizardKind.TEAMMATES:
        return UserType.STAFF
    return UserType(chosen) if chosen in {t.value for t in UserType} else None


def _person(kind: WizardKind, data: dict) -> RowInput:
    return RowInput(
        user_type=_user_type(kind, data.get("user_type")),
        email=data.get("email"),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        occupation_id=data.get("occupation"),
    )


def _keep_message(draft, form) -> bool:
    """The personal message travels with every post of the row form: keep the latest, if it
    is one (False when it is refused, with the reason beside it)."""
    if form.message is None:
        return True
    if not form.message.validate(form):
        return False
    draft.message = form.message.data
    if form.language.raw_data:  # absent from a post that does not carry the batch's fields
        try:
            drafts.set_language(draft, form.language.data)
        except Refused as refused:
            form.refuse(refused)
            return False
    return True


def _add(kind: WizardKind, draft, form) -> bool:
    """ADD+ of what the row form holds: True when added, else the problems are on the form."""
    if not form.validate():
        return False
    try:
        drafts.add_row(draft, _person(kind, form.data))
    except Refused as refused:
        form.refuse(refused)
        return False
    return True


def _out_of_date_because(kind: WizardKind, draft, *, sent: bool) -> str | None:
    """Why the page that posted no longer shows the list as it is, or None: another page
    changed the draft's organization since it was drawn, or (`sent`: SEND, and the keep that
    must not outlive it) sent its list."""
    if not drafts.shows_current_organization(draft, request.form.get("organization_shown")):
        return gettext(
            "The organization was changed to %(organization)s on another page. Nothing was "
            "added or sent: check the list below, then try again.",
            organization=draft.partner_organization.name if draft.partner_organization else "",
        )
    if sent and not drafts.hold_if_current(draft, request.form.get("sent_batches")):
        if kind is WizardKind.MANAGED:
            return gettext(
                "These people were already created from another page, or by a second click. "
                "Nothing more was created: check the list below."
            )
        return gettext(
            "This list was already sent from another page, or by a second click. Nothing "
            "more was sent: check the list below."
        )
    return None


def _page_out_of_date(kind: WizardKind, draft, form=None, *, sent: bool = False):
    """The answer to a post from a page that no longer shows the list as it is, or None:
    nothing changes, and the wizard is drawn as it is now, with what was typed still in the
    form and a message that says what happened."""
    message = _out_of_date_because(kind, draft, sent=sent)
    if message is None:
        return None
    db.session.rollback()
    return wizard(kind, form=form, page_out_of_date=message, status=409)


@bp.post(f"/invite/{SLUGS}/rows")
@inviter_required
def add_row(slug):
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind)
    form = row_form(kind, draft)
    if out_of_date := _page_out_of_date(kind, draft, form):
        return out_of_date
    _keep_message(draft, form)
    if _add(kind, draft, form):
        db.session.commit()
        return wizard(kind)
    db.session.rollback()
    return wizard(kind, form=form, status=422)


@bp.post(f"/invite/{SLUGS}/rows/<int:row_id>/delete")
@inviter_required
def remove_row(slug, row_id):
    kind = WIZARD_KINDS[slug]
    drafts.remove_row(drafts.get_draft(current_user, kind), row_id)
    db.session.commit()
    return wizard(kind)


@bp.post(f"/invite/{SLUGS}/typed")
@inviter_required
def typed(slug):
    """The row form as typed so far (sent as the person types): a reload shows it again."""
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind)
    # A keep sent just before SEND's answer must not bring back the message and person sent,
    # nor one from a page of another organization overwrite what is typed on this one's.
    if _out_of_date_because(kind, draft, sent=True) is not None:
        db.session.rollback()
        return "", 204
    form = row_form(kind, draft)
    # Not a late echo of a person just added:
    if not drafts.is_listed(draft, form.data, request.form.get("listed_up_to")):
        drafts.save_typed(draft, form.data)
    _keep_message(draft, form)
    db.session.commit()
    return "", 204


@bp.post("/invite/<any(teammates, external):slug>/addresses")
@inviter_required
def add_addresses(slug):
    """One row per address of a pasted list; the ones refused stay in the field, named."""
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind)
    form = row_form(kind, draft)
    if out_of_date := _page_out_of_date(kind, draft, form):
        return out_of_date
    _keep_message(draft, form)
    if not form.validate():
        db.session.rollback()
        return wizard(kind, form=form, status=422)
    data = form.data
    try:
        added = drafts.add_addresses(
            draft,
            data["addresses"] or "",
            _user_type(kind, data.get("user_type")),
            data.get("occupation"),
        )
    except Refused as refused:
        db.session.rollback()
        form.refuse(refused)
        return wizard(kind, form=form, status=422)
    # 422 only when nothing was added, and then nothing changes (the message typed beside
    # the list included: the form shows it again).
    if added.added:
        db.session.commit()
    else:
        db.session.rollback()
    form.addresses.data = "\n".join(address for address, _ in added.refused)
    return wizard(kind, form=form, addresses_added=added, status=200 if added.added else 422)


@bp.post(f"/invite/{SLUGS}/send")
@inviter_required
def send(slug):
    """Send the open list. A person typed in the row form and not added is added first,
    after the same checks as ADD+; if refused, nothing is sent and the form says why."""
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind, lock=True)
    form = row_form(kind, draft)
    if out_of_date := _page_out_of_date(kind, draft, form, sent=True):
        return out_of_date
    typed = drafts.has_typed_person(form.data) and not drafts.is_listed(
        draft, form.data, request.form.get("listed_up_to")
    )
    if not _keep_message(draft, form) or typed and not _add(kind, draft, form):
        db.session.rollback()
        return wizard(kind, form=form, status=422)
    try:
        if kind is WizardKind.MANAGED:
            result = sending.create_managed_users(draft, current_user)
        else:
            result = sending.send_invitations(draft, current_user)
    except MailCapReached as refused:  # nothing was sent; the list stays
        db.session.rollback()
        return wizard(kind, send_refused=refused, status=refused.status)
    except Refused:  # the organization is archived (the wizard says so) or gone
        db.session.rollback()
        if drafts.closed_reason(draft):
            return wizard(kind, status=409)
        return redirect(url_for(FIRST_STEPS[kind]))
    db.session.commit()
    return wizard(kind, result=result)


@bp.get("/invite/<any(external, managed):slug>/template.csv")
@inviter_required
def csv_template(slug):
    return Response(
        csv_rows.template_csv(WIZARD_KINDS[slug]),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=scope-{slug}-users.csv"},
    )


@bp.post("/invite/<any(external, managed):slug>/upload")
@inviter_required
def upload(slug):
    """Check a file: a clean one is added; one with problems shows them, and keeps its good
    rows for "Add the N valid rows"."""
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind)
    if out_of_date := _page_out_of_date(kind, draft):
        return out_of_date
    form = CsvUploadForm()
    if not form.validate_on_submit():
        return wizard(kind, upload_form=form, status=422)
    file = form.csv_file.data
    try:
        check = csv_rows.check_csv(draft, file.filename or "upload.csv", file.read())
        added = csv_rows.add_checked_rows(draft, check)
    except Refused as refused:
        db.session.rollback()
        form.refuse(refused)
        return wizard(kind, upload_form=form, status=422)
    if check.bad_rows:  # nothing is added until asked: the answer changes nothing
        db.session.rollback()
        return wizard(kind, csv_check=check, held=csv_rows.hold(check), status=422)
    db.session.commit()
    return wizard(kind, csv_check=check, csv_added=added)


@bp.post("/invite/<any(external, managed):slug>/upload/valid")
@inviter_required
def add_valid_rows(slug):
    kind = WIZARD_KINDS[slug]
    draft = drafts.get_draft(current_user, kind)
    if out_of_date := _page_out_of_date(kind, draft):
        return out_of_date
    try:
        added = csv_rows.add_held_rows(draft, request.form.get("held", ""))
    except Refused as refused:
        db.session.rollback()
        form = CsvUploadForm(formdata=None)
        form.refuse(refused)
        return wizard(kind, upload_form=form, status=422)
    db.session.commit()
    return wizard(kind, csv_added=added)
