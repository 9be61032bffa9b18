"""Accounts: password changes, a person's own name, language and time zone, their organization."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import i18n, zones
from ..audit import record
from ..auth.passwords import hash_password, password_problem, verify_password
from ..auth.services import end_all_sessions
from ..extensions import db
from ..models import (
    AccountTokenPurpose,
    User,
    UserStatus,
    UserType,
)
from ..partners.services import organization_users
from .link_emails import AccountError, _queue_password_changed
from .links import (
    LinkProblem,
    _end_open_links,
    _spend,
    check_link,
    end_account_links,
)


class PasswordRefused(AccountError):
    """The password policy refused the password; the message says why."""

    field = "password"


class WrongPassword(AccountError):
    message = _l("That is not your current password.")
    field = "current_password"


# --- setting and changing passwords ---------------------------------------------------------


def password_hints(user: User) -> list[str]:
    return [user.email or "", user.first_name or "", user.last_name or ""]


def check_new_password(user: User, password: str) -> None:
    problem = password_problem(password, hints=password_hints(user))
    if problem:
        raise PasswordRefused(problem)


def set_password_with_link(token: str, purpose: AccountTokenPurpose, password: str) -> User:
    """Complete a set-password or recovery link: spends it, sets the password, and ends
    every session and every other open link of the account.

    A managed account becomes Active, unless its address became another account's login
    meanwhile (LinkProblem "taken": the person logs in with that one). Raises LinkProblem or
    PasswordRefused; after LinkProblem the caller rolls back. The caller commits and logs
    the person in.
    """
    account_token = check_link(token, purpose)
    user = account_token.user
    check_new_password(user, password)
    password_hash = hash_password(password)  # slow: before the writes
    _spend(account_token)  # first write of the transaction: a lost race changes nothing
    was_managed = user.status is UserStatus.MANAGED
    try:
        with db.session.begin_nested():
            user.password_hash = password_hash
            user.status = UserStatus.ACTIVE
            db.session.flush()
    except IntegrityError:
        raise LinkProblem("taken", account_token) from None
    end_all_sessions(user)
    _end_open_links(user, AccountTokenPurpose, account_token.used_at)
    record(
        "authenticated" if was_managed else "password_reset",
        user,
        actor_id=user.id,
        link=purpose.value,
    )
    _queue_password_changed(user)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """A logged-in person changes their password: every other session and open link ends.

    Raises WrongPassword or PasswordRefused. The caller commits and logs the person in again
    with the new session version.
    """
    if not verify_password(user.password_hash, current_password):
        raise WrongPassword
    check_new_password(user, new_password)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    end_account_links(user)
    record("password_changed", user, actor_id=user.id)
    _queue_password_changed(user)


def update_name(user: User, first_name: str, last_name: str) -> None:
    user.first_name = first_name
    user.last_name = last_name


def set_language(user: User, code: str | None) -> None:
    """The language this person reads Scope and its emails in; blank follows the
    invitation's, else the browser's (scope.i18n)."""
    if code and i18n.check(code) is None:
        raise AccountError(gettext("Choose a language from the list."), "language")
    user.language = code or None


def set_time_zone(user: User, name: str | None) -> None:
    """The zone this person reads times in; blank follows their sponsor's."""
    user.time_zone = zones.check(name)


# --- what a partner user may see of their organization --------------------------------------


def may_edit_organization(user: User) -> bool:
    """Administrators edit their organization's profile; everyone else reads it."""
    return user.user_type is UserType.ADMINISTRATOR and user.partner_organization_id is not None


def organization_users_for(user: User) -> list[User]:
    """The users of the person's organization, for administrators only."""
    if not may_edit_organization(user):
        return []
    return organization_users(user.partner_organization)
