from flask import Blueprint

from ..htmx import render
from ..security import staff_required

bp = Blueprint("invites", __name__)


@bp.get("/invite/")
@staff_required
def index():
    return render("invites/index.html", nav="invite")


@bp.get("/manage/invitations")
@staff_required
def invitations():
    return render("invites/index.html", nav="manage")
