"""The emails that carry an account's links: set password, recovery, a new login address."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import LazyString, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..audit import record
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
    utcnow,
)
from ..refusals import Refused
from .links import (
    LinkProblem,
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
    answer and the same profile either way (a change waiting to be confirmed), so they learn
    nothing of other sponsors' accounts.
    """
    owner = login_account(new_email)
    kind = "confirm_email" if owner is None else "email_in_use"
    refusal = allowance.address_refusal(user.sponsor_id, kind, new_email, "email")
    if refusal:
        raise refusal
    allowance.reserve(user.sponsor_id, 1, "email")
    record("email_change_requested", user, actor_id=actor.id, new_email=new_email)
    # The request waits for its owner either way, so the profile reads the same (its link,
    # never sent when the address is taken, cannot be used).
    link = issue_link(user, AccountTokenPurpose.CHANGE_EMAIL, new_email=new_email)
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
