"""Sessions, who may see what, and the headers every response carries."""

from __future__ import annotations

from functools import wraps

from flask import Flask, Request, abort, make_response, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_user
from werkzeug.local import LocalProxy
from werkzeug.middleware.proxy_fix import ProxyFix

from . import i18n
from .auth.services import record_login
from .extensions import db, login_manager
from .htmx import page_path
from .models import User, UserStatus
from .tenancy import parse_id

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The cookie names a user and a session version; a bumped version ends the session."""
    user_id, _, version = session_id.partition(":")
    user_id = parse_id(user_id)
    if user_id is None or not (version.isascii() and version.isdigit()):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != int(version):
        return None
    if user.status is not UserStatus.ACTIVE:
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    # htmx.after_request turns this into HX-Redirect for htmx requests. After logging in,
    # the person is back on the page they were on (auth.routes._safe_next checks it).
    return redirect(url_for("auth.login", next=page_path()))


def staff_required(view):
    """Staff pages: anonymous people go to log in, partner users get 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def partner_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def log_in(user: User) -> None:
    """Start a fresh session for this person once their change is saved, and note the login."""
    record_login(user)
    i18n.keep_switched_language(user)
    db.session.commit()
    session.clear()
    login_user(user)


def unproxied(user: User) -> User:
    """The user itself rather than current_user's proxy, for code that asks a user the same
    things once a row (a page of rows, a SEND of 1,000): each ask through the proxy looks the
    user up again."""
    return user._get_current_object() if isinstance(user, LocalProxy) else user


def no_store(rendered):
    """For pages whose address carries a secret (emailed links): no cache may keep them."""
    response = make_response(rendered)
    response.headers["Cache-Control"] = "no-store"
    return response


def home_url_for(user: User) -> str:
    if user.is_staff:
        return url_for("partners.employers")
    return url_for("accounts.my_organization")


class ScopeRequest(Request):
    """A multipart part whose name cannot be parsed arrives named None: drop it.

    Left in, it crashed the CSRF check (Flask-WTF calls key.endswith) with a 500.
    """

    def _load_form_data(self) -> None:
        super()._load_form_data()
        for attr in ("form", "files"):
            data = self.__dict__.get(attr)
            if data is not None and None in data:
                self.__dict__[attr] = type(data)(
                    (key, value) for key, value in data.items(multi=True) if key is not None
                )


# Requests a page makes by itself (and static files): their answers never set the cookie.
UNATTENDED_ENDPOINTS = frozenset({"static", "notices.count", "join.reviewed"})


class ScopeSessionInterface(SecureCookieSessionInterface):
    """The answer to a request a page makes by itself leaves the session cookie alone.

    Such a request can leave with the cookie from before a login or a logout in the same
    browser and be answered after it (the sign-up page's /reviewed a second after it loads,
    the Notifications count): setting the cookie then would undo that login. An open tab is not
    activity either, so it does not renew the session; static files are cached, and must not
    carry a cookie.
    """

    def save_session(self, app, session, response):
        if request.endpoint in UNATTENDED_ENDPOINTS:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def register(app: Flask) -> None:
    app.request_class = ScopeRequest
    app.session_interface = ScopeSessionInterface()
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # The client's address is the one the outermost trusted proxy saw: the N-th entry
        # of X-Forwarded-For from the right. The Host header is never taken from a proxy.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)

    @app.after_request
    def renew_session(response):
        # Flask refuses a session cookie signed longer ago than PERMANENT_SESSION_LIFETIME
        # (SESSION_IDLE_HOURS): signing it again on each request makes that an idle timeout.
        # Unattended requests are left out by ScopeSessionInterface.
        if "_user_id" in session:
            session.permanent = True
            session.modified = True
        return response

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # The session's claim, not the account: loading it here would reach the database
        # even for a static file, and fail with it.
        if "_user_id" in session:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
