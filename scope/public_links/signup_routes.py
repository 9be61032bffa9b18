"""The public side of a public link: the sign-up form and the emailed confirmation."""

from flask import Blueprint, redirect, request
from flask_babel import gettext
from flask_limiter.util import get_remote_address
from flask_login import current_user

from .. import i18n
from ..auth import throttle
from ..extensions import db, limiter
from ..forms import ScopeForm
from ..htmx import render
from ..models import Sponsor
from ..refusals import Refused
from ..security import home_url_for, log_in, no_store
from . import services, signups
from .forms import PublicSignUpForm

bp = Blueprint("signup", __name__)


def _link_key() -> str:
    """Sign-ups counted per link, whoever sends them (the id before the MAC)."""
    token = (request.view_args or {}).get("token", "")
    # The whole token: a made-up one counts apart, so it cannot use up a real link's allowance.
    return f"public-link:{str(token)[:80]}"


# Per client, per link (a flyer on a wall gets many clients at once), and per address typed,
# so nobody fills a mailbox with confirmation emails.
_per_client = limiter.limit("20 per hour", methods=["POST"], key_func=get_remote_address)
_per_link = limiter.limit("200 per hour", methods=["POST"], key_func=_link_key)
_per_address = limiter.limit(
    "5 per hour", methods=["POST"], key_func=throttle.address_key("public-signup")
)
_page_limit = limiter.limit("60 per minute")


def _closed(reason: str, link=None):
    sponsor = db.session.get(Sponsor, link.sponsor_id) if link else None
    status = 404 if reason == "invalid" else 410
    return render("public_links/closed.html", status=status, reason=reason, sponsor=sponsor)


@bp.route("/p/<token>", methods=["GET", "POST"])
@_page_limit
@_per_client
@_per_link
@_per_address
def sign_up(token):
    return no_store(_sign_up(token))


def _sign_up(token):
    try:
        link = signups.link_for_token(token)
    except services.LinkClosed as closed:
        return _closed(closed.reason, closed.link)
    if current_user.is_authenticated:
        return render("invites/log_out_first.html", status=409)
    form = PublicSignUpForm()
    if link.domains:
        form.email.description = gettext(
            "Your work address at %(domains)s. We email you a link to confirm it before your "
            "account is made.",
            domains=", ".join(link.domains),
        )
    sponsor = db.session.get(Sponsor, link.sponsor_id)
    if form.validate_on_submit():
        try:
            signups.start_signup(
                link,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                email=form.email.data,
                password=form.password.data,
            )
        except Refused as refused:
            db.session.rollback()
            form.refuse(refused)
        else:
            db.session.commit()
            return render("public_links/check_email.html", sponsor=sponsor, link=link)
    return render(
        "public_links/sign_up.html",
        status=form.status,
        form=form,
        link=link,
        sponsor=sponsor,
        token=token,
    )


def _problem(reason: str, signup=None):
    if signup is not None:
        i18n.use_invitation_language(signup.language)
    sponsor = db.session.get(Sponsor, signup.sponsor_id) if signup else None
    status = 404 if reason == "invalid" else 410
    return render(
        "public_links/confirmation_problem.html", status=status, reason=reason, sponsor=sponsor
    )


@bp.route("/p/confirm/<token>", methods=["GET", "POST"])
@_page_limit
def confirm(token):
    return no_store(_confirm(token))


def _confirm(token):
    """Opening the link shows a button; only the button's post confirms (mail scanners open
    links)."""
    try:
        signup = signups.signup_for_token(token)
    except services.ConfirmationProblem as problem:
        return _problem(problem.reason, problem.signup)
    # The pages after the email speak the language the person signed up in.
    i18n.use_invitation_language(signup.language)
    form = ScopeForm()
    sponsor = db.session.get(Sponsor, signup.sponsor_id)
    if request.method == "POST" and form.validate_on_submit():
        try:
            user = signups.confirm_signup(signup)
        except services.ConfirmationProblem as problem:
            db.session.rollback()
            return _problem(problem.reason, signup)
        if user is None:
            db.session.commit()
            return render("public_links/awaiting.html", sponsor=sponsor, signup=signup)
        if current_user.is_authenticated:
            db.session.commit()
            return redirect(home_url_for(current_user))
        log_in(user)
        return redirect(home_url_for(user))
    return render(
        "public_links/confirm.html", form=form, signup=signup, sponsor=sponsor, token=token
    )
