from flask import Blueprint

from ..htmx import render
from ..security import staff_required

bp = Blueprint("mail", __name__, url_prefix="/mail")


@bp.get("/mailbox")
@staff_required
def mailbox():
    return render("mail/mailbox.html", nav=None, messages=[])
