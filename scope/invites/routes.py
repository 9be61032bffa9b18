from flask import Blueprint

from ..htmx import render
from ..security import staff_required

bp = Blueprint("invites", __name__, url_prefix="/invite")


@bp.get("/")
@staff_required
def index():
    return render("invites/index.html", nav="invite")
