"""INVITE: inviting teammates and partner users, and adding managed users."""

from flask import Blueprint

bp = Blueprint("invites", __name__)

# The route modules register their views on bp.
from . import list_routes, routes  # noqa: E402, F401
