"""MANAGE → Users: ACTIONS on many accounts (Convert, Deactivate, Reactivate, Delete)."""

from urllib.parse import parse_qsl

from flask import make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..htmx import fragment_or_redirect, is_htmx, render, retarget, trigger
from ..refusals import Refused
from ..security import staff_required
from ..templating import format_number
from . import actions, bp, users
from .forms import BulkConvertForm
from .routes import _listing

# After a bulk action the dialog closes and the table redraws itself.
BULK_DONE = "scope:close-dialog, scope:users-changed"

# Many accounts --------------------------------------------------------------------------


def _selection(source):
    """The selected users of this sponsor (ticked ones, or every one the search and filters
    of "select all N matching" select), or a message saying why there are none to act on."""
    try:
        if "matching" in source:
            query = MultiDict(parse_qsl(source["matching"]))
            listing, _ = _listing(query, acting=True)
            ids = users.matching_ids(listing, actions.BULK_LIMIT + 1)
            if len(ids) > actions.BULK_LIMIT:
                raise actions.TooManySelected(
                    gettext(
                        "Select at most %(count)s users at a time: "
                        "narrow the search or filters first.",
                        count=format_number(actions.BULK_LIMIT),
                    )
                )
        else:
            ids = actions.parse_ids(source.getlist("user_id"))
        selected = actions.selected_users(ids, lock=request.method == "POST")
    except Refused as refused:
        return [], refused.message
    if not selected:
        return [], gettext("No users selected. Tick the boxes beside their names first.")
    return selected, None


@bp.route("/users/bulk/convert", methods=["GET", "POST"])
@staff_required
def bulk_convert():
    form = BulkConvertForm()
    source = request.form if request.method == "POST" else request.args
    selected, problem = _selection(source)
    if request.method == "POST" and not problem and form.validate_on_submit():
        try:
            message = actions.bulk_convert(selected, current_user, form.custom_message.data)
        except Refused as refused:
            db.session.rollback()
            problem = refused.message
        else:
            db.session.commit()
            return _bulk_done(message)
    return _bulk_dialog(
        "manage/bulk_convert.html",
        "#bulk-convert-form",
        form=form,
        users=selected,
        problem=problem,
        preview=actions.convert_plan(selected, current_user)[0],
    )


@bp.route("/users/bulk/deactivate", methods=["GET", "POST"])
@staff_required
def bulk_deactivate():
    source = request.form if request.method == "POST" else request.args
    selected, problem = _selection(source)
    if request.method == "POST" and not problem:
        message = actions.bulk_deactivate(selected, current_user)
        db.session.commit()
        return _bulk_done(message)
    return _bulk_dialog(
        "manage/bulk_deactivate.html", "#bulk-deactivate-form", users=selected, problem=problem
    )


def _bulk_simple(kind: str, act):
    """Bulk Reactivate or Delete: a dialog naming how many, then the action on each."""
    source = request.form if request.method == "POST" else request.args
    selected, problem = _selection(source)
    if request.method == "POST" and not problem:
        message = act(selected, current_user)
        db.session.commit()
        return _bulk_done(message)
    action = actions.UserAction(kind)
    return _bulk_dialog(
        "manage/bulk_users.html",
        "#bulk-users-form",
        kind=kind,
        users=selected,
        problem=problem,
        plan=actions.sort_out(selected, current_user, action)[0],
    )


@bp.route("/users/bulk/reactivate", methods=["GET", "POST"])
@staff_required
def bulk_reactivate():
    return _bulk_simple("reactivate", actions.bulk_reactivate)


@bp.route("/users/bulk/delete", methods=["GET", "POST"])
@staff_required
def bulk_delete():
    return _bulk_simple("delete", actions.bulk_delete)


def _bulk_done(message: str):
    return fragment_or_redirect(
        url_for("manage.users"),
        lambda: trigger(
            make_response(render("manage/users.html", "notice", message=message, ok=True)),
            BULK_DONE,
        ),
        message,
    )


def _bulk_dialog(template: str, form_id: str, **context):
    invalid = request.method == "POST"
    response = make_response(
        render(
            template,
            "dialog_body" if invalid else "dialog",
            status=422 if invalid else 200,
            nav="manage",
            **context,
        )
    )
    if invalid and is_htmx():
        retarget(response, form_id)
    return response
