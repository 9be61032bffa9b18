"""PARTNERS → Occupations: the list, and each occupation's page (rename, merge into
another, retire or restore, delete)."""

from flask import abort, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, is_htmx, render, retarget
from ..i18n import N_
from ..models import Occupation
from ..refusals import Refused
from ..security import staff_required
from ..templating import joined_by_and
from ..tenancy import current_sponsor_id, get_or_404, parse_id, scoped
from . import occupations as service
from .forms import OccupationForm
from .routes import bp, lifecycle
from .services import describe_references


@bp.route("/occupations", methods=["GET", "POST"])
@staff_required
def occupations():
    form = OccupationForm()
    if form.validate_on_submit():
        try:
            occupation = service.create_occupation(current_sponsor_id(), form.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(
                url_for("partners.occupations"),
                lambda: render(
                    "partners/occupations.html",
                    "created",
                    occupation=occupation,
                    form=OccupationForm(formdata=None),
                    counts={},
                ),
            )
    return render(
        "partners/occupations.html",
        "occupation_form",
        status=form.status,
        nav="partners",
        form=form,
        occupations=service.list_occupations(),
        counts=service.occupation_user_counts(),
    )


def _page(occupation: Occupation) -> str:
    return url_for("partners.occupation", occupation_id=occupation.id)


def _occupation_page(occupation: Occupation, form: OccupationForm, status: int = 200):
    return render(
        "partners/occupation.html",
        "occupation_edit" if status != 200 else None,
        status=status,
        nav="partners",
        occupation=occupation,
        form=form,
        counts=_by_table(service.references(occupation)),
        targets=[o for o in service.occupation_choices() if o.id != occupation.id],
    )


@bp.get("/occupations/<int:occupation_id>")
@staff_required
def occupation(occupation_id):
    occupation = get_or_404(Occupation, occupation_id)
    return _occupation_page(occupation, OccupationForm(obj=occupation))


@bp.post("/occupations/<int:occupation_id>/edit")
@staff_required
def edit_occupation(occupation_id):
    occupation = get_or_404(Occupation, occupation_id, lock=True)
    form = OccupationForm()
    if form.validate_on_submit():
        try:
            changed = service.update_occupation(occupation, form.data, current_user)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            message = (
                gettext("%(name)s saved.", name=occupation.name)
                if changed
                else gettext("Nothing changed.")
            )
            return fragment_or_redirect(_page(occupation), None, message)
    db.session.rollback()
    response = make_response(_occupation_page(occupation, form, form.status))
    if is_htmx():
        retarget(response, "#occupation-edit")
    return response


def _by_table(counts: dict) -> dict:
    """Counts by model as the templates name them (by table)."""
    return {model.__tablename__: count for model, count in counts.items()}


def _merge_target(source) -> Occupation | None:
    """The occupation chosen to merge into: None when none was chosen; another sponsor's
    (or no one's) id answers 404."""
    ident = parse_id(source.get("into", ""))
    if ident is None:
        return None
    into = db.session.scalar(scoped(Occupation).where(Occupation.id == ident))
    if into is None:
        abort(404)
    return into


@bp.get("/occupations/<int:occupation_id>/merge")
@staff_required
def confirm_merge(occupation_id):
    """The dialog that names what moves before a merge, or why it cannot be done."""
    occupation = get_or_404(Occupation, occupation_id)
    into = _merge_target(request.args)
    refusal = service.merge_refusal(occupation, into)
    return render(
        "partners/confirm_merge.html",
        "dialog",
        nav="partners",
        occupation=occupation,
        into=into,
        problem=refusal.message if refusal else None,
        moving=_by_table(service.references(occupation)),
    )


@bp.post("/occupations/<int:occupation_id>/merge")
@staff_required
def merge_occupation(occupation_id):
    occupation = get_or_404(Occupation, occupation_id)
    into = _merge_target(request.form)
    name = occupation.name
    try:
        if into is None:
            raise service.merge_refusal(occupation, into)
        moved = service.merge_occupation(occupation, into, current_user)
    except Refused as refused:
        db.session.rollback()
        return fragment_or_redirect(_page(occupation), None, refused.message, ok=False)
    db.session.commit()
    if moved:
        done = gettext(
            "%(name)s merged into %(into)s: %(what)s moved.",
            name=name,
            into=into.name,
            what=joined_by_and(describe_references(moved)),
        )
    else:
        done = gettext("%(name)s merged into %(into)s: Nothing moved.", name=name, into=into.name)
    return fragment_or_redirect(_page(into), None, done)


def _lifecycle(occupation_id: int, action, done: str):
    occupation = get_or_404(Occupation, occupation_id, lock=True)
    return lifecycle(
        occupation,
        action,
        done,
        _page(occupation),
        url_for("partners.occupations") if action is service.delete_occupation else None,
    )


@bp.post("/occupations/<int:occupation_id>/retire")
@staff_required
def retire_occupation(occupation_id):
    return _lifecycle(
        occupation_id,
        service.retire_occupation,
        N_("%(name)s retired. It is no longer offered; the people who have it keep it."),
    )


@bp.post("/occupations/<int:occupation_id>/restore")
@staff_required
def restore_occupation(occupation_id):
    return _lifecycle(occupation_id, service.restore_occupation, N_("%(name)s restored."))


@bp.post("/occupations/<int:occupation_id>/delete")
@staff_required
def delete_occupation(occupation_id):
    return _lifecycle(occupation_id, service.delete_occupation, N_("%(name)s deleted."))
