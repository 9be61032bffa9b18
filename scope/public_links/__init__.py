"""Public invite links: staff hand them out (link, QR code, flyer); anyone with one signs up."""

from flask import Blueprint

bp = Blueprint("public_links", __name__)


@bp.app_context_processor
def _link_helpers():
    # What a list of links shows of each: its address and whether it takes sign-ups.
    from .services import closed_reason, link_url

    return {"closed_reason": closed_reason, "link_url": link_url}


from . import routes  # noqa: E402,F401  (registers the views)
