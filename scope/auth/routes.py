from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user, login_required, logout_user

from .. import i18n
from ..extensions import db, limiter
from ..htmx import render
from ..security import home_url_for, log_in
from . import throttle
from .forms import LoginForm
from .services import LoginRefused, authenticate, end_all_sessions

bp = Blueprint("auth", __name__)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_url_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=throttle.address_and_client_key("login"))
# Refusals per account from browsers that never logged in to it: a guessing botnet is
# slowed, and the owner's own browser (throttle.known_device) is never locked out by it.
@limiter.limit(
    "10 per minute;50 per hour",
    methods=["POST"],
    key_func=throttle.address_key("login"),
    exempt_when=throttle.known_device,
    deduct_when=throttle.refused,
)
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except LoginRefused as refused:
            form.refuse(refused)
        else:
            log_in(user)
            response = redirect(_safe_next(request.args.get("next")) or home_url_for(user))
            return throttle.remember_device(response, user.email)
    return render("auth/login.html", status=form.status, form=form)


@bp.post("/logout")
@login_required
def logout():
    end_all_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get(f"/language/<any({', '.join(i18n.LANGUAGES)}):code>")
def language(code):
    """The Language switch: this browser reads Scope in that language until it picks another
    (a person's choice on My account comes first). Works without scripts; stays on this site."""
    response = redirect(_safe_next(request.args.get("next")) or url_for("auth.login"))
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=i18n.COOKIE_MAX_AGE,
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response


def _safe_next(target: str | None) -> str | None:
    """Only paths on this site; never another host, nor anything a header cannot carry."""
    if not target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
