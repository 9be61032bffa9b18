"""Notifications: the header button's unread count, the list, Mark all read, the digest."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, render
from ..security import staff_required
from ..tenancy import parse_id
from . import services

bp = Blueprint("notices", __name__)


def _list(block: str = "dialog", status: int = 200, oob: bool = False):
    return render(
        "notices/index.html",
        block,
        status=status,
        oob=oob,
        notices=services.recent_notices(current_user),
        unread=services.unread_count(current_user),
        target=target_of,
    )


def target_of(notice) -> str:
    """Where a notice leads: the account an invitation made, or the invitation's row."""
    if notice.account_id is not None:
        return url_for("manage.user", user_id=notice.account_id)
    if notice.kind in ("awaiting_approval", "declined"):
        return url_for("manage.users") + "#awaiting-approval"
    if notice.kind in ("link_disabled", "link_rotated"):
        return url_for("public_links.index")
    if notice.kind == "expiring" and notice.invitation_id is None:
        return url_for("manage.invitations", sort="sent", dir="asc")
    if notice.invitation is not None:
        # Searched by its address, the row is on the first page whatever the sort.
        return (
            url_for("manage.invitations", q=notice.invitation.email)
            + f"#invitation-{notice.invitation_id}"
        )
    return url_for("manage.invitations")


@bp.get("/notifications")
@staff_required
def index():
    return _list()


@bp.get("/notifications/count")
@staff_required
def count():
    # Polled by the Notifications button (base.html); it does not keep a session alive.
    return render(
        "notices/index.html",
        "count",
        unread=services.unread_count(current_user),
    )


@bp.post("/notifications/<int:notice_id>/open")
@staff_required
def open_notice(notice_id):
    notice = services.my_notice(current_user, notice_id)
    if notice is None:
        abort(404)
    services.mark_read(notice)
    db.session.commit()
    return redirect(target_of(notice))


@bp.post("/notifications/read")
@staff_required
def mark_all_read():
    services.mark_all_read(current_user, parse_id(request.form.get("shown_up_to")))
    db.session.commit()
    return fragment_or_redirect(url_for("notices.index"), lambda: _list("notices", oob=True))


@bp.post("/notifications/digest")
@staff_required
def digest():
    choice = request.form.get("digest")
    if choice not in ("daily", "none"):
        return fragment_or_redirect(
            url_for("notices.index"), None, gettext("Choose how to get notices."), ok=False
        )
    services.set_digest(current_user, choice == "daily")
    db.session.commit()
    return fragment_or_redirect(url_for("notices.index"), lambda: _list("notices", oob=True))
