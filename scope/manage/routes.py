"""MANAGE → Users: the list, its export, and the actions on one account or many."""

from datetime import date
from functools import partial

from flask import Response, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..errors import streamed
from ..extensions import db
from ..htmx import fragment_or_redirect, is_htmx, render, trigger
from ..i18n import N_
from ..listing import PAGE_SIZES, Listing
from ..models import User, UserStatus, UserType
from ..refusals import Refused
from ..security import staff_required
from ..tenancy import get_or_404
from . import actions, bp, users
from .profile_routes import profile_context


def _listing(args=None, *, acting=False) -> tuple[Listing, users.OrganizationFilter]:
    """The Users listing a request asks for (its arguments, or the query of "select all N
    matching" when `acting`), with its Organization filter read in, as every screen, export
    and action on it reads them."""
    args = request.args if args is None else args
    listing = Listing.from_request(tuple(users.USER_SORTS), "name", users.USER_FILTERS, args=args)
    return listing, users.organization_filter(listing, args, acting=acting)


@bp.get("/users", endpoint="users")
@staff_required
def users_page():
    listing, organization = _listing()
    if not organization.picks_nobody:
        users.list_users(listing, current_user)
    return render(
        "manage/users.html",
        "table",
        nav="manage",
        listing=listing,
        organization=organization,
        user_types=list(UserType),
        statuses=list(UserStatus),
        page_sizes=PAGE_SIZES,
        letters=listing.sort in users.LETTER_SORTS and not listing.q,
    )


@bp.get("/users.csv")
@staff_required
def users_csv():
    listing, _ = _listing()  # as the page it was exported from
    chunks = users.export_csv(listing)
    response = Response(streamed(chunks), mimetype="text/csv")
    filename = f"scope-users-{date.today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# One account ----------------------------------------------------------------------------


def _answer(user: User | None, message: str, ok: bool = True, status: int = 409):
    """Answer an account action where it was asked: its table row, or the profile page.

    A deleted account leaves its table row; on its profile nothing is left to show, so
    the list opens instead.
    """
    view = request.form.get("view")
    on_profile = view == "profile"
    if view == "notice":  # asked from elsewhere (the INVITE wizard): only the outcome
        return fragment_or_redirect(
            url_for("manage.users"),
            lambda: render(
                "manage/users.html", "notice", 200 if ok else status, message=message, ok=ok
            ),
            message,
            ok,
        )
    if user is not None and on_profile:
        location = url_for("manage.user", user_id=user.id)
    else:
        location = url_for("manage.users")
    if user is None and on_profile:
        return fragment_or_redirect(location, None, message, ok)
    outcome = partial(_outcome, user, on_profile, message, ok, 200 if ok else status)
    return fragment_or_redirect(location, outcome, message, ok)


def _outcome(user: User | None, on_profile: bool, message: str, ok: bool, status: int):
    """The part of the page that shows an action's outcome where it was asked."""
    context = {"message": message, "ok": ok}
    if user is None:
        return render("manage/users.html", "row_removed", **context)
    if on_profile:
        return render(
            "manage/user.html", "profile_changed", status, **profile_context(user), **context
        )
    row = users.user_row(user, current_user)
    return render("manage/users.html", "row_changed", status, user=row, **context)


def _action(user_id: int, action, done: str):
    user = get_or_404(User, user_id, lock=True)
    try:
        action(user, current_user)
    except Refused as refused:
        db.session.rollback()
        return _answer(user, refused.message, ok=False, status=refused.status)
    db.session.commit()
    return _answer(user, gettext(done, name=user.full_name))


@bp.post("/users/<int:user_id>/convert")
@staff_required
def convert_user(user_id):
    return _action(
        user_id, actions.convert_to_authenticated, N_("Authentication email sent to %(name)s.")
    )


@bp.post("/users/<int:user_id>/deactivate")
@staff_required
def deactivate_user(user_id):
    return _action(user_id, actions.deactivate_user, N_("%(name)s deactivated."))


@bp.post("/users/<int:user_id>/reactivate")
@staff_required
def reactivate_user(user_id):
    return _action(user_id, actions.reactivate_user, N_("%(name)s reactivated."))


@bp.get("/users/<int:user_id>/delete")
@staff_required
def confirm_delete_user(user_id):
    user = get_or_404(User, user_id)
    view = "profile" if request.args.get("view") == "profile" else None
    return render("manage/confirm_delete.html", "dialog", nav="manage", user=user, view=view)


@bp.post("/users/<int:user_id>/delete")
@staff_required
def delete_user(user_id):
    user = get_or_404(User, user_id, lock=True)
    name = user.full_name
    try:
        actions.delete_user(user, current_user)
    except Refused as refused:
        db.session.rollback()
        response = _answer(user, refused.message, ok=False)
    else:
        db.session.commit()
        response = _answer(None, gettext("%(name)s deleted.", name=name))
    return trigger(make_response(response), "scope:close-dialog") if is_htmx() else response
