from flask import Blueprint
from flask_login import current_user

from ..htmx import render
from ..security import partner_required

bp = Blueprint("accounts", __name__)


@bp.get("/my/organization")
@partner_required
def my_organization():
    return render(
        "accounts/my_organization.html",
        nav="organization",
        organization=current_user.partner_organization,
    )


@bp.get("/my/account")
@partner_required
def my_account():
    return render("accounts/my_account.html", nav="account")


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    return render("accounts/forgot_password.html")
