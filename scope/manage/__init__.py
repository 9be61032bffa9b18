"""MANAGE: the sponsor's users and invitations."""

from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage")

# The route modules register their views on bp.
from . import bulk_routes, invitation_routes, profile_routes, routes  # noqa: E402, F401
