from datetime import date

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

from ..errors import streamed
from ..extensions import db
from ..htmx import is_htmx, render, retarget, trigger
from ..listing import PAGE_SIZES, Listing
from ..models import User, UserStatus, UserType
from ..security import staff_required
from ..tenancy import get_or_404
from . import services
from .forms import BulkConvertForm, ProfileForm

bp = Blueprint("manage", __name__, url_prefix="/manage")

# After a bulk action the dialog closes and the table redraws itself.
BULK_DONE = "scope:close-dialog, scope:users-changed"


def _listing() -> Listing:
    return Listing.from_request(tuple(services.USER_SORTS), "name", services.USER_FILTERS)


@bp.get("/users")
@staff_required
def users():
    listing = services.list_users(_listing())
    return render(
        "manage/users.html",
        "table",
        nav="manage",
        listing=listing,
        organizations=services.organization_options() if not is_htmx() else {},
        user_types=list(UserType),
        statuses=list(UserStatus),
        page_sizes=PAGE_SIZES,
    )


@bp.get("/users.csv")
@staff_required
def users_csv():
    chunks = services.export_csv(_listing())
    response = Response(streamed(chunks), mimetype="text/csv")
    filename = f"scope-users-{date.today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# One account ----------------------------------------------------------------------------


def _answer(user: User | None, message: str, status: int = 200, removed: bool = False):
    """Answer an account action where it was asked: its table row, or the profile page."""
    on_profile = request.form.get("view") == "profile"
    if not is_htmx():
        flash(message, "success" if status == 200 else "error")
        if on_profile and not removed:
            return redirect(url_for("manage.user", user_id=user.id))
        return redirect(url_for("manage.users"))
    context = {"message": message, "ok": status == 200}
    if removed:
        return render("manage/users.html", "row_removed", **context)
    if on_profile:
        return render("manage/user.html", "profile_changed", status, **_profile(user), **context)
    return render("manage/users.html", "row_changed", status, user=user, **context)


def _action(user_id: int, action, done: str):
    user = get_or_404(User, user_id)
    try:
        action(user, current_user)
    except services.ActionRefused as refusal:
        db.session.rollback()
        return _answer(user, str(refusal), 409)
    db.session.commit()
    return _answer(user, done.format(name=user.full_name))


@bp.post("/users/<int:user_id>/convert")
@staff_required
def convert_user(user_id):
    return _action(
        user_id, services.convert_to_authenticated, "Authentication email sent to {name}."
    )


@bp.post("/users/<int:user_id>/deactivate")
@staff_required
def deactivate_user(user_id):
    return _action(user_id, services.deactivate_user, "{name} deactivated.")


@bp.post("/users/<int:user_id>/reactivate")
@staff_required
def reactivate_user(user_id):
    return _action(user_id, services.reactivate_user, "{name} reactivated.")


@bp.get("/users/<int:user_id>/delete")
@staff_required
def confirm_delete_user(user_id):
    user = get_or_404(User, user_id)
    return render("manage/confirm_delete.html", "dialog", nav="manage", user=user)


@bp.post("/users/<int:user_id>/delete")
@staff_required
def delete_user(user_id):
    user = get_or_404(User, user_id)
    name = user.full_name
    try:
        services.delete_user(user, current_user)
    except services.ActionRefused as refusal:
        db.session.rollback()
        response = _answer(user, str(refusal), 409)
    else:
        db.session.commit()
        response = _answer(None, f"{name} deleted.", removed=True)
    return trigger(make_response(response), "scope:close-dialog") if is_htmx() else response


# Profile --------------------------------------------------------------------------------


def _profile(user: User) -> dict:
    return {"nav": "manage", "user": user, "history": services.user_history(user)}


def _profile_form(user: User) -> ProfileForm:
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "user_type": user.user_type.value,
        "organization": user.partner_organization_id,
        "occupation": user.occupation_id,
    }
    return ProfileForm(data=data).for_user(
        user, services.organization_options(), services.occupation_options()
    )


@bp.get("/users/<int:user_id>")
@staff_required
def user(user_id):
    return render("manage/user.html", "details", **_profile(get_or_404(User, user_id)))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_user(user_id):
    user = get_or_404(User, user_id)
    form = _profile_form(user)
    if form.validate_on_submit():
        try:
            services.update_profile(user, form.data, current_user)
        except services.ProfileInvalid as invalid:
            db.session.rollback()
            for name, message in invalid.errors.items():
                form[name].errors.append(message)
        else:
            db.session.commit()
            if not is_htmx():
                flash("Profile saved.", "success")
                return redirect(url_for("manage.user", user_id=user.id))
            return render(
                "manage/user.html",
                "profile_changed",
                **_profile(user),
                message="Profile saved.",
                ok=True,
            )
    response = make_response(
        render(
            "manage/user.html",
            "edit_form",
            status=422 if form.errors else 200,
            **_profile(user),
            form=form,
            editing=True,
        )
    )
    if form.errors and is_htmx():
        retarget(response, "#user-details")
    return response


# Many accounts --------------------------------------------------------------------------


def _selection(values):
    """The selected users of this sponsor, or a message saying why there are none to act on."""
    try:
        users = services.selected_users(services.parse_ids(values))
    except services.TooManySelected as error:
        return [], str(error)
    return users, None if users else "No users selected. Tick the boxes beside their names first."


@bp.route("/users/bulk/convert", methods=["GET", "POST"])
@staff_required
def bulk_convert():
    form = BulkConvertForm()
    source = request.form if request.method == "POST" else request.args
    users, problem = _selection(source.getlist("user_id"))
    if request.method == "POST" and not problem and form.validate_on_submit():
        message = services.bulk_convert(users, current_user, form.custom_message.data)
        db.session.commit()
        return _bulk_done(message)
    return _bulk_dialog(
        "manage/bulk_convert.html",
        "#bulk-convert-form",
        form=form,
        users=users,
        problem=problem,
        preview=services.convert_preview(users),
    )


@bp.route("/users/bulk/deactivate", methods=["GET", "POST"])
@staff_required
def bulk_deactivate():
    source = request.form if request.method == "POST" else request.args
    users, problem = _selection(source.getlist("user_id"))
    if request.method == "POST" and not problem:
        message = services.bulk_deactivate(users, current_user)
        db.session.commit()
        return _bulk_done(message)
    return _bulk_dialog(
        "manage/bulk_deactivate.html",
        "#bulk-deactivate-form",
        users=users,
        problem=problem,
    )


def _bulk_done(message: str):
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("manage.users"))
    response = make_response(render("manage/users.html", "notice", message=message, ok=True))
    return trigger(response, BULK_DONE)


def _bulk_dialog(template: str, form_id: str, **context):
    invalid = request.method == "POST"
    response = make_response(
        render(
            template,
            "form" if invalid else "dialog",
            status=422 if invalid else 200,
            nav="manage",
            **context,
        )
    )
    if invalid and is_htmx():
        retarget(response, form_id)
    return response
