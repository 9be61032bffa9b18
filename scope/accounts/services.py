"""Accounts: the emails that carry links, password changes, a person's own name."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from ..audit import record
from ..auth.passwords import hash_password, password_problem, verify_password
from ..auth.services import end_all_sessions
from ..emails import lookup_key
from ..extensions import db
from ..mail.services import queue_mail
from ..models import (
    AccountTokenPurpose,
    MailMessage,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from ..partners.services import organization_users
from ..refusals import Refused
from .links import (
    _end_open_links,
    _lifetime,
    _spend,
    check_link,
    end_account_links,
    hash_token,
    issue_link,
    link_url,
)

CUSTOM_MESSAGE_MAX_LENGTH = 2000
# The recovery answer takes at least this long, whether or not an account was found.
RECOVERY_ANSWER_SECONDS = 0.1
# Accounts that may receive a recovery link: deactivated accounts get nothing.
RECOVERABLE = (UserStatus.ACTIVE, UserStatus.MANAGED)


class AccountError(Refused):
    """A rule of this feature refused the request."""


class NoEmailAddress(AccountError):
    message = "This person has no email address to send a link to."


class AccountDeactivated(AccountError):
    message = "Deactivated accounts get no links. Reactivate the account first."


class MessageTooLong(AccountError):
    message = f"Use at most {CUSTOM_MESSAGE_MAX_LENGTH:,} characters."
    field = "custom_message"


class PasswordRefused(AccountError):
    """The password policy refused the password; the message says why."""

    field = "password"


class WrongPassword(AccountError):
    message = "That is not your current password."
    field = "current_password"


# --- emails ---------------------------------------------------------------------------------


def _hours_or_minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return "one day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "one hour" if hours == 1 else f"{hours} hours"
    return "one minute" if minutes == 1 else f"{minutes} minutes"


def recovery_lifetime_text() -> str:
    """How long a recovery link works, in words ("one hour")."""
    return _hours_or_minutes(_lifetime(AccountTokenPurpose.RECOVERY))


def send_set_password_link(
    user: User, *, actor_id: int | None, custom_message: str | None = None
) -> MailMessage:
    """Queue the AUTHENTICATE email: a 7-day, single-use link that replaces any older one.

    Sets user.authentication_sent_at and records an 'authentication_sent' audit event.
    Raises NoEmailAddress when the user has no email, AccountDeactivated for a deactivated
    account, MessageTooLong when custom_message exceeds CUSTOM_MESSAGE_MAX_LENGTH.
    The caller commits.
    """
    if not user.email:
        raise NoEmailAddress
    if user.status is UserStatus.DEACTIVATED:
        raise AccountDeactivated
    custom_message = (custom_message or "").strip() or None
    if custom_message and len(custom_message) > CUSTOM_MESSAGE_MAX_LENGTH:
        raise MessageTooLong
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    if actor is not None and actor.sponsor_id != user.sponsor_id:
        raise ValueError("the actor belongs to another sponsor")
    link = issue_link(user, AccountTokenPurpose.SET_PASSWORD)
    user.authentication_sent_at = utcnow()
    record(
        "authentication_sent",
        user,
        actor_id=actor_id,
        email=user.email,
        with_message=custom_message is not None,
    )
    return _mail_to(
        user,
        "set_password",
        f"{user.sponsor.name}: set your password for Scope",
        sponsor=user.sponsor,
        organization=user.partner_organization,
        actor=actor,
        custom_message=custom_message,
        link=link.url,
        expires_at=link.expires_at,
        lifetime=_hours_or_minutes(_lifetime(AccountTokenPurpose.SET_PASSWORD)),
    )


def request_recovery(email: str) -> MailMessage | None:
    """Queue a recovery link for the Active or Managed account with this address, if any.

    The caller shows the same answer either way. Both paths do comparable work (a token,
    its hash, the email rendered), so the time taken does not tell whether an account exists.
    """
    user = db.session.scalar(
        select(User).where(User.email == lookup_key(email), User.status.in_(RECOVERABLE))
    )
    if user is None:
        token = secrets.token_urlsafe(32)
        hash_token(token)
        _render_recovery(
            user=None, link=link_url(AccountTokenPurpose.RECOVERY, token), expires_at=utcnow()
        )
        return None
    link = issue_link(user, AccountTokenPurpose.RECOVERY)
    return _mail_to(
        user,
        "recovery",
        "Reset your Scope password",
        **_recovery_context(link.url, link.expires_at),
    )


def _recovery_context(link: str, expires_at: datetime) -> dict:
    return {"link": link, "expires_at": expires_at, "lifetime": recovery_lifetime_text()}


def _render_recovery(user: User | None, link: str, expires_at: datetime) -> None:
    context = _recovery_context(link, expires_at) | {"user": user, "forgot_url": _forgot_url()}
    render_template("mail/recovery.txt", **context)
    render_template("mail/recovery.html", **context)


def _queue_password_changed(user: User) -> MailMessage | None:
    if not user.email:
        return None
    return _mail_to(
        user, "password_changed", "Your Scope password was changed", changed_at=utcnow()
    )


def _forgot_url() -> str:
    return current_app.config["PUBLIC_URL"] + "/forgot-password"


def _mail_to(user: User, kind: str, subject: str, **context) -> MailMessage:
    """An email to the holder of this account, about it."""
    return queue_mail(
        kind,
        user.email,
        subject,
        sponsor_id=user.sponsor_id,
        user_id=user.id,
        user=user,
        forgot_url=_forgot_url(),
        **context,
    )


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

    A managed account becomes Active. Raises LinkProblem or PasswordRefused; after
    LinkProblem from the spend the caller must roll back. The caller commits and logs the
    person in.
    """
    account_token = check_link(token, purpose)
    user = account_token.user
    check_new_password(user, password)
    _spend(account_token)  # first write of the transaction: a lost race changes nothing
    was_managed = user.status is UserStatus.MANAGED
    user.password_hash = hash_password(password)
    user.status = UserStatus.ACTIVE
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


# --- what a partner user may see of their organization --------------------------------------


def may_edit_organization(user: User) -> bool:
    """Administrators edit their organization's profile; everyone else reads it."""
    return user.user_type is UserType.ADMINISTRATOR and user.partner_organization_id is not None


def organization_users_for(user: User) -> list[User]:
    """The users of the person's organization, for administrators only."""
    if not may_edit_organization(user):
        return []
    return organization_users(user.partner_organization)
