"""Accounts: the emails that carry links, password changes, a person's own name."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import LazyString, gettext, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import i18n, zones
from ..audit import record
from ..auth.passwords import hash_password, password_problem, verify_password
from ..auth.services import end_all_sessions, login_account
from ..emails import lookup_key
from ..extensions import db
from ..forms import use_at_most
from ..i18n import recipient_language
from ..mail import allowance
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
    LinkProblem,
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
    message = _l("This person has no email address to send a link to.")


class AccountDeactivated(AccountError):
    message = _l("Deactivated accounts get no links. Reactivate the account first.")


class MessageTooLong(AccountError):
    message = LazyString(use_at_most, CUSTOM_MESSAGE_MAX_LENGTH)
    field = "custom_message"


class PasswordRefused(AccountError):
    """The password policy refused the password; the message says why."""

    field = "password"


class WrongPassword(AccountError):
    message = _l("That is not your current password.")
    field = "current_password"


# --- emails ---------------------------------------------------------------------------------


def _hours_or_minutes(delta: timedelta):
    """ "one hour", "7 days": lazy, so an email reads it in its recipient's language."""
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return lazy_ngettext("one day", "%(num)d days", minutes // (24 * 60))
    if minutes % 60 == 0:
        return lazy_ngettext("one hour", "%(num)d hours", minutes // 60)
    return lazy_ngettext("one minute", "%(num)d minutes", minutes)


def recovery_lifetime_text():
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
        _l("%(sponsor)s: set your password for Scope", sponsor=user.sponsor.name),
        sponsor=user.sponsor,
        organization=user.partner_organization,
        actor=actor,
        message=custom_message,
        message_from=actor.full_name if actor else user.sponsor.name,
        link=link.url,
        expires_at=link.expires_at,
        lifetime=_hours_or_minutes(_lifetime(AccountTokenPurpose.SET_PASSWORD)),
    )


def recoverable_accounts(address: str) -> list[User]:
    """Who may get a recovery link for this address.

    The account whose login it is, if there is one (none when it is deactivated); otherwise
    every sponsor's managed record of it, each of which the link would make Active.
    """
    login = login_account(address)
    if login is not None:
        return [login] if login.status in RECOVERABLE else []
    stmt = select(User).where(User.email == address, User.status == UserStatus.MANAGED)
    return list(db.session.scalars(stmt.order_by(User.id)))


def request_recovery(email: str) -> list[MailMessage]:
    """Queue a recovery link for each account recoverable_accounts() finds.

    The caller shows the same answer either way. Both paths do comparable work (a token,
    its hash, the email rendered), so the time taken does not tell whether an account exists.
    """
    accounts = [a for a in recoverable_accounts(lookup_key(email)) if _may_send_recovery(a)]
    if not accounts:
        token = secrets.token_urlsafe(32)
        hash_token(token)
        _render_recovery(
            user=None, link=link_url(AccountTokenPurpose.RECOVERY, token), expires_at=utcnow()
        )
    messages = []
    for user in accounts:
        link = issue_link(user, AccountTokenPurpose.RECOVERY)
        messages.append(
            _mail_to(
                user,
                "recovery",
                _l("Reset your Scope password"),
                **_recovery_context(link.url, link.expires_at),
            )
        )
    return messages


def _recovery_context(link: str, expires_at: datetime) -> dict:
    return {"link": link, "expires_at": expires_at, "lifetime": recovery_lifetime_text()}


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


def _render_recovery(user: User | None, link: str, expires_at: datetime) -> None:
    context = _recovery_context(link, expires_at) | {"user": user, "forgot_url": _forgot_url()}
    render_template("mail/recovery.txt", **context)
    render_template("mail/recovery.html", **context)


def _queue_password_changed(user: User) -> MailMessage | None:
    if not user.email:
        return None
    return _mail_to(
        user, "password_changed", _l("Your Scope password was changed"), changed_at=utcnow()
    )


def _forgot_url() -> str:
    return current_app.config["PUBLIC_URL"] + "/forgot-password"


def _mail_to(user: User, kind: str, subject: str, **context) -> MailMessage:
    """An email to the holder of this account, about it."""
    return queue_mail(
        kind,
        user.email,
        subject,
        language=recipient_language(user=user),
        sponsor_id=user.sponsor_id,
        user_id=user.id,
        user=user,
        forgot_url=_forgot_url(),
        **context,
    )


# --- a new login address --------------------------------------------------------------------


def request_email_change(user: User, new_email: str, actor: User) -> None:
    """Staff gave an account that logs in a new address: its owner confirms it by link.

    The address stays as it is until then. When the new address is already another
    account's login, its owner is told so instead, and nothing changes: staff see the same
    answer either way, so they learn nothing of other sponsors' accounts.
    """
    owner = login_account(new_email)
    kind = "confirm_email" if owner is None else "email_in_use"
    refusal = allowance.address_refusal(user.sponsor_id, kind, new_email, "email")
    if refusal:
        raise refusal
    allowance.reserve(user.sponsor_id, 1, "email")
    record("email_change_requested", user, actor_id=actor.id, new_email=new_email)
    if kind == "email_in_use":
        queue_mail(
            "email_in_use",
            new_email,
            _l("Your address was given for another Scope account"),
            language=recipient_language(user=owner),
            sponsor_id=user.sponsor_id,
            user_id=user.id,
            sponsor=user.sponsor,
            forgot_url=_forgot_url(),
        )
        return
    link = issue_link(user, AccountTokenPurpose.CHANGE_EMAIL, new_email=new_email)
    queue_mail(
        "confirm_email",
        new_email,
        _l("%(sponsor)s: confirm your new Scope login", sponsor=user.sponsor.name),
        language=recipient_language(user=user),
        sponsor_id=user.sponsor_id,
        user_id=user.id,
        user=user,
        new_email=new_email,
        actor=actor,
        link=link.url,
        expires_at=link.expires_at,
    )


def confirm_email_change(token: str) -> User:
    """The new address's owner confirms it: it becomes the login, every session of the
    account ends and the old address is told. LinkProblem "taken" when it became another
    account's login meanwhile; the caller rolls back after any LinkProblem."""
    account_token = check_link(token, AccountTokenPurpose.CHANGE_EMAIL)
    user = account_token.user
    old_email = user.email
    _spend(account_token)
    try:
        with db.session.begin_nested():
            user.email = account_token.new_email
            db.session.flush()
    except IntegrityError:
        raise LinkProblem("taken", account_token) from None
    end_all_sessions(user)
    end_account_links(user)
    record("email_changed", user, actor_id=user.id, old_email=old_email, email=user.email)
    if old_email:
        queue_mail(
            "email_changed",
            old_email,
            _l("Your Scope login address was changed"),
            language=recipient_language(user=user),
            sponsor_id=user.sponsor_id,
            user_id=user.id,
            user=user,
            old_email=old_email,
            forgot_url=_forgot_url(),
        )
    return user


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
