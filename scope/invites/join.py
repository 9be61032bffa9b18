"""The invitation sign-up page: the emailed link's side."""

from flask import Blueprint, redirect
from flask_login import current_user

from .. import i18n
from ..extensions import db, limiter
from ..htmx import render
from ..models import Sponsor
from ..security import home_url_for, log_in, no_store
from .forms import SignUpForm
from .signup import LinkUnavailable, accept_invitation, invitation_for_token, mark_reviewed

bp = Blueprint("join", __name__)

# Guessing tokens is pointless (256-bit MACs), but cheap to make slower still.
_token_limit = limiter.limit("60 per minute")


def _unavailable(reason: str, invitation=None):
    if invitation is not None:
        i18n.use_invitation_language(invitation.language)
    sponsor = db.session.get(Sponsor, invitation.sponsor_id) if invitation else None
    status = 404 if reason == "invalid" else 410
    return render("invites/link_unavailable.html", status=status, reason=reason, sponsor=sponsor)


def _logged_in_elsewhere():
    return render("invites/log_out_first.html", status=409)


@bp.route("/join/<token>", methods=["GET", "POST"])
@_token_limit
def sign_up(token):
    return no_store(_sign_up(token))


def _sign_up(token):
    try:
        invitation = invitation_for_token(token)
    except LinkUnavailable as unavailable:
        return _unavailable(unavailable.reason, unavailable.invitation)
    i18n.use_invitation_language(invitation.language)
    if current_user.is_authenticated:
        return _logged_in_elsewhere()
    form = SignUpForm(email=invitation.email)
    if form.validate_on_submit():
        try:
            user = accept_invitation(
                invitation,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                password=form.password.data,
            )
        except LinkUnavailable as unavailable:
            db.session.rollback()
            return _unavailable(unavailable.reason, unavailable.invitation or invitation)
        log_in(user)
        return redirect(home_url_for(user))
    return render(
        "invites/sign_up.html",
        status=form.status,
        form=form,
        invitation=invitation,
        sponsor=db.session.get(Sponsor, invitation.sponsor_id),
        token=token,
    )


@bp.post("/join/<token>/reviewed")
@_token_limit
def reviewed(token):
    """Sent by the sign-up page once it is open in a browser; a scanner's GET never counts."""
    try:
        invitation = invitation_for_token(token)
    except LinkUnavailable:
        return "", 204
    mark_reviewed(invitation)
    db.session.commit()
    return "", 204
