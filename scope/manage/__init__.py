"""MANAGE: the sponsor's users and invitations."""

from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage")

# The route modules register their views on bp.
from . import bulk_routes, invitation_routes, profile_routes, routes  # noqa: E402, F401
from .invitation_listing import ROW_WORDS as INVITATION_ROW_WORDS  # noqa: E402
from .users import ROW_WORDS as USER_ROW_WORDS  # noqa: E402

# Worded once per table by i18n.translated (the templates' `w`).
bp.add_app_template_global(USER_ROW_WORDS, "user_row_words")
bp.add_app_template_global(INVITATION_ROW_WORDS, "invitation_row_words")
