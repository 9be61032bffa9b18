from flask import Blueprint

from ..htmx import render
from ..security import staff_required

bp = Blueprint("manage", __name__, url_prefix="/manage")


@bp.get("/users")
@staff_required
def users():
    return render("manage/users.html", nav="manage")
