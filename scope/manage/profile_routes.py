"""A person's profile: details, edits and history."""

from flask import make_response, url_for
from flask_login import current_user

from ..accounts.links import pending_email_change
from ..extensions import db
from ..htmx import fragment_or_redirect, is_htmx, render, retarget
from ..models import User
from ..partners.occupations import occupation_choices
from ..refusals import Refused
from ..security import staff_required
from ..tenancy import get_or_404
from . import bp
from .actions import allowed_actions
from .forms import ProfileForm
from .profile import update_profile, user_history
from .users import organization_options


def profile_context(user: User) -> dict:
    return {
        "nav": "manage",
        "user": user,
        "actions": allowed_actions(user, current_user),
        "email_change": pending_email_change(user),
        "history": user_history(user),
    }


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
        user, organization_options(), occupation_choices(keep=user.occupation_id)
    )


@bp.get("/users/<int:user_id>")
@staff_required
def user(user_id):
    return render("manage/user.html", "details", **profile_context(get_or_404(User, user_id)))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_user(user_id):
    person = get_or_404(User, user_id)
    form = _profile_form(person)
    if form.validate_on_submit():
        try:
            change = update_profile(person, form.data, current_user)
        except Refused as refused:
            db.session.rollback()
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(
                url_for("manage.user", user_id=person.id),
                lambda: render(
                    "manage/user.html",
                    "profile_changed",
                    **profile_context(person),
                    message=change.message,
                    ok=True,
                ),
                change.message,
            )
    response = make_response(
        render(
            "manage/user.html",
            "edit_form",
            status=form.status,
            **profile_context(person),
            form=form,
            editing=True,
        )
    )
    if form.errors and is_htmx():
        retarget(response, "#user-details")
    return response
