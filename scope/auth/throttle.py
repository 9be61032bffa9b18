"""What a login or recovery attempt is counted against, and the browsers an account knows.

Counting failed logins per email address across all clients lets anyone lock the owner
out; not counting them lets a botnet guess at one account from many addresses. The middle
way is the device cookie (OWASP's "Slow down online guessing attacks with device cookies"):
a browser that has logged in to an account carries a signed cookie naming it, and is exempt
from that account's per-address limit. A stranger's failures then lock out strangers only;
every client, the owner's included, still has its own per-client limits.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Response, current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..emails import lookup_key

DEVICE_COOKIE = "scope_device"
DEVICE_COOKIE_PATH = "/login"
DEVICE_DAYS = 180
# Accounts one browser is remembered for (a shared computer at a partner's office, say).
DEVICE_ACCOUNTS = 5


def _form_address() -> str:
    return lookup_key(request.form.get("email", ""))[:254]


def address_key(prefix: str):
    """Counts per email address, whoever asks."""
    return lambda: f"{prefix}:{_form_address()}"


def address_and_client_key(prefix: str):
    """Counts per email address and client address: one client's attempts at one account."""
    return lambda: f"{prefix}:{_form_address()}:{get_remote_address()}"


def refused(response: Response) -> bool:
    """A login whose form was checked and refused (wrong password, unknown account)."""
    return response.status_code == 422


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="scope.login-device")


def _account_mark(address: str) -> str:
    # Keyed, so the cookie does not tell a reader which address it is for.
    key = str(current_app.secret_key).encode()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]


def _remembered() -> list[str]:
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return []
    try:
        marks = _serializer().loads(value, max_age=DEVICE_DAYS * 24 * 3600)
    except BadSignature:
        return []
    if not isinstance(marks, list):
        return []
    return [mark for mark in marks if isinstance(mark, str)][-DEVICE_ACCOUNTS:]


def known_device() -> bool:
    """This browser has logged in before to the account the form names."""
    address = _form_address()
    return bool(address) and _account_mark(address) in _remembered()


def remember_device(response: Response, address: str) -> Response:
    mark = _account_mark(lookup_key(address))
    marks = [m for m in _remembered() if m != mark] + [mark]
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps(marks[-DEVICE_ACCOUNTS:]),
        max_age=DEVICE_DAYS * 24 * 3600,
        path=DEVICE_COOKIE_PATH,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
