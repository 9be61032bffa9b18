from flask import Blueprint

from ..htmx import render
from ..security import staff_required

bp = Blueprint("partners", __name__, url_prefix="/partners")


@bp.get("/employers")
@staff_required
def employers():
    return render("invites/index.html", nav="partners")


@bp.get("/providers")
@staff_required
def providers():
    return render("invites/index.html", nav="partners")


@bp.get("/occupations")
@staff_required
def occupations():
    return render("invites/index.html", nav="partners")
