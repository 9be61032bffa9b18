"""Logging in and out."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..emails import lookup_key
from ..extensions import db
from ..models import User, UserStatus, utcnow
from ..refusals import Refused
from .passwords import verify_password


class LoginRefused(Refused):
    message = _l("That email and password do not match an active account.")
    field = "password"


def login_account(address: str) -> User | None:
    """The account whose login this address is: the one with a password, in any sponsor.

    Other records may have the address too (managed records, which cannot log in).
    """
    return db.session.scalar(
        select(User).where(User.email == address, User.password_hash.is_not(None))
    )


def authenticate(email: str, password: str) -> User:
    """The active user with this email and password; the same refusal for every failure."""
    user = login_account(lookup_key(email))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.status is not UserStatus.ACTIVE:
        raise LoginRefused
    return user


def record_login(user: User) -> None:
    """Last login, whichever way the person came in (password, invitation, emailed link)."""
    user.last_login_at = utcnow()


def end_all_sessions(user: User) -> None:
    """Every cookie carrying the old session version stops working (incremented in SQL, so
    two changes at once both count)."""
    user.session_version = User.session_version + 1
