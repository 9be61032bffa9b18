"""INVITE: inviting teammates and partner users, and adding managed users."""

from flask import Blueprint

bp = Blueprint("invites", __name__)


@bp.app_context_processor
def _partner_inviter():
    # The navigation offers INVITE and MANAGE to partner administrators allowed to invite
    # (INVITE while their organization is not archived).
    from .partner_admins import invites_now, is_partner_inviter

    return {"partner_inviter": is_partner_inviter, "partner_invites_now": invites_now}


# The route modules register their views on bp.
from . import list_routes, routes  # noqa: E402, F401
