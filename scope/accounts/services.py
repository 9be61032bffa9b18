"""Accounts: set-password and recovery links, password changes, a person's own name.

A link carries a random token shown once in the email; the database keeps only its SHA-256,
so a copy of the database cannot be turned into working links.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select, update

from ..audit import record
from ..auth.passwords import hash_password, password_problem, verify_password
from ..auth.services import end_all_sessions, normalize_email
from ..extensions import db
from ..mail.services import queue_mail
from ..models import (
    AccountToken,
    AccountTokenPurpose,
    MailMessage,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from ..partners.services import organization_users

# Paths of the pages the links open; the routes are registered on these.
SET_PASSWORD_PATH = "/account/set-password/"
RECOVERY_PATH = "/account/recover/"
LINK_PATHS = {
    AccountTokenPurpose.SET_PASSWORD: SET_PASSWORD_PATH,
    AccountTokenPurpose.RECOVERY: RECOVERY_PATH,
}
CUSTOM_MESSAGE_MAX_LENGTH = 2000
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
_TOKEN_MAX_LENGTH = 64
# The recovery answer takes at least this long, whether or not an account was found.
RECOVERY_ANSWER_SECONDS = 0.1
# Accounts that may receive a recovery link: deactivated accounts get nothing.
RECOVERABLE = (UserStatus.ACTIVE, UserStatus.MANAGED)


class AccountError(Exception):
    """A rule of this feature refused the request."""


class NoEmailAddress(AccountError):
    """The user has no email address to send a link to."""


class AccountDeactivated(AccountError):
    """Deactivated accounts get no links and cannot use old ones."""


class MessageTooLong(AccountError):
    pass


class PasswordRefused(AccountError):
    """The password policy refused the password; str() is the message for the person."""


class WrongPassword(AccountError):
    pass


class LinkProblem(AccountError):
    """A link that cannot be used; `reason` says why: invalid, expired, used, replaced,
    deactivated."""

    def __init__(self, reason: str, token: AccountToken | None = None):
        super().__init__(reason)
        self.reason = reason
        self.token = token


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_at: datetime


# --- tokens ---------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime(purpose: AccountTokenPurpose) -> timedelta:
    config = current_app.config
    if purpose is AccountTokenPurpose.SET_PASSWORD:
        return timedelta(days=int(config["SET_PASSWORD_DAYS"]))
    return timedelta(minutes=int(config["RECOVERY_MINUTES"]))


def link_url(purpose: AccountTokenPurpose, token: str) -> str:
    """Links point at PUBLIC_URL, never at whatever Host a request carried."""
    return f"{current_app.config['PUBLIC_URL']}{LINK_PATHS[purpose]}{token}"


def _end_open_links(user: User, purposes, now: datetime) -> None:
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose.in_(list(purposes)),
            AccountToken.used_at.is_(None),
            AccountToken.replaced_at.is_(None),
        )
        .values(replaced_at=now)
        .execution_options(synchronize_session=False)
    )


def end_account_links(user: User) -> None:
    """Every unused set-password and recovery link of this user stops working.

    For callers that change who a link reaches (a new email address) or whether it may be
    used at all (deactivation).
    """
    _end_open_links(user, AccountTokenPurpose, utcnow())


def issue_link(user: User, purpose: AccountTokenPurpose) -> IssuedLink:
    """A new link for this user and purpose; earlier unused links of that purpose end."""
    now = utcnow()
    _end_open_links(user, [purpose], now)
    token = secrets.token_urlsafe(32)
    expires_at = now + _lifetime(purpose)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires_at,
        )
    )
    db.session.flush()
    return IssuedLink(url=link_url(purpose, token), expires_at=expires_at)


def _problem_with(account_token: AccountToken, now: datetime) -> str | None:
    if account_token.user.status is UserStatus.DEACTIVATED:
        return "deactivated"
    if account_token.used_at is not None:
        return "used"
    if account_token.replaced_at is not None:
        return "replaced"
    if account_token.expires_at <= now:
        return "expired"
    return None


def check_link(token: str, purpose: AccountTokenPurpose) -> AccountToken:
    """The live token behind a link, or LinkProblem saying why it cannot be used.

    Reading only: opening a link (a mail scanner does) never spends it.
    """
    if not isinstance(token, str) or not 0 < len(token) <= _TOKEN_MAX_LENGTH:
        raise LinkProblem("invalid")
    account_token = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == hash_token(token))
    )
    if account_token is None or account_token.purpose is not purpose:
        raise LinkProblem("invalid")
    reason = _problem_with(account_token, utcnow())
    if reason:
        raise LinkProblem(reason, account_token)
    return account_token


def _spend(account_token: AccountToken) -> None:
    """Mark the token used unless someone else just did: the database decides the race."""
    now = utcnow()
    result = db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == account_token.id,
            AccountToken.used_at.is_(None),
            AccountToken.replaced_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(account_token)
        raise LinkProblem(_problem_with(account_token, now) or "used", account_token)
    account_token.used_at = now


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
    return queue_mail(
        kind="set_password",
        recipient=user.email,
        subject=f"{user.sponsor.name}: set your password for Scope",
        template="set_password",
        sponsor_id=user.sponsor_id,
        user_id=user.id,
        user=user,
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
    address = normalize_email(email)
    user = db.session.scalar(
        select(User).where(User.email == address, User.status.in_(RECOVERABLE))
    )
    if user is None or not _may_send_recovery(user):
        token = secrets.token_urlsafe(32)
        hash_token(token)
        _render_recovery(
            user=None, link=link_url(AccountTokenPurpose.RECOVERY, token), expires_at=utcnow()
        )
        return None
    link = issue_link(user, AccountTokenPurpose.RECOVERY)
    return queue_mail(
        kind="recovery",
        recipient=user.email,
        subject="Reset your Scope password",
        template="recovery",
        sponsor_id=user.sponsor_id,
        user_id=user.id,
        **_recovery_context(user, link.url, link.expires_at),
    )


def _may_send_recovery(user: User) -> bool:
    """At most RECOVERY_EMAILS_PER_HOUR per account, whoever asks: a stranger cannot flood
    the owner's mailbox, and the newest link sent stays the one that works."""
    sent = db.session.scalar(
        select(func.count(MailMessage.id)).where(
            MailMessage.user_id == user.id,
            MailMessage.kind == "recovery",
            MailMessage.created_at > utcnow() - timedelta(hours=1),
        )
    )
    return sent < int(current_app.config["RECOVERY_EMAILS_PER_HOUR"])


def _recovery_context(user: User | None, link: str, expires_at: datetime) -> dict:
    return {
        "user": user,
        "link": link,
        "expires_at": expires_at,
        "lifetime": recovery_lifetime_text(),
        "forgot_url": current_app.config["PUBLIC_URL"] + "/forgot-password",
    }


def _render_recovery(user: User | None, link: str, expires_at: datetime) -> None:
    context = _recovery_context(user, link, expires_at)
    render_template("mail/recovery.txt", **context)
    render_template("mail/recovery.html", **context)


def _queue_password_changed(user: User) -> MailMessage | None:
    if not user.email:
        return None
    return queue_mail(
        kind="password_changed",
        recipient=user.email,
        subject="Your Scope password was changed",
        template="password_changed",
        sponsor_id=user.sponsor_id,
        user_id=user.id,
        user=user,
        changed_at=utcnow(),
        forgot_url=current_app.config["PUBLIC_URL"] + "/forgot-password",
    )


# --- setting and changing passwords ---------------------------------------------------------


def _password_hints(user: User) -> list[str]:
    return [user.email or "", user.first_name or "", user.last_name or ""]


def check_new_password(user: User, password: str) -> None:
    problem = password_problem(password, hints=_password_hints(user))
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
