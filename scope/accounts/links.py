"""Set-password and recovery links: issued, checked and spent.

A link carries a random token shown once in the email; the database keeps only its SHA-256,
so a copy of the database cannot be turned into working links.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select, update

from ..extensions import db
from ..models import AccountToken, AccountTokenPurpose, User, UserStatus, utcnow
from ..refusals import Refused

# Paths of the pages the links open; the routes are registered on these.
SET_PASSWORD_PATH = "/account/set-password/"
RECOVERY_PATH = "/account/recover/"
CHANGE_EMAIL_PATH = "/account/confirm-email/"
LINK_PATHS = {
    AccountTokenPurpose.SET_PASSWORD: SET_PASSWORD_PATH,
    AccountTokenPurpose.RECOVERY: RECOVERY_PATH,
    AccountTokenPurpose.CHANGE_EMAIL: CHANGE_EMAIL_PATH,
}
CHANGE_EMAIL_DAYS = 3
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
_TOKEN_MAX_LENGTH = 64


class LinkProblem(Refused):
    """A link that cannot be used; `reason` says why: invalid, expired, used, replaced,
    deactivated, taken (its address is already another account's login)."""

    def __init__(self, reason: str, token: AccountToken | None = None):
        super().__init__(gettext("This link cannot be used (%(reason)s).", reason=reason))
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
    if purpose is AccountTokenPurpose.CHANGE_EMAIL:
        return timedelta(days=CHANGE_EMAIL_DAYS)
    return timedelta(minutes=int(config["RECOVERY_MINUTES"]))


def link_url(purpose: AccountTokenPurpose, token: str) -> str:
    """Links point at PUBLIC_URL, never at whatever Host a request carried."""
    return f"{current_app.config['PUBLIC_URL']}{LINK_PATHS[purpose]}{token}"


def lock_account(user: User) -> None:
    """Hold the account's row for this transaction. Whatever changes an account and its links
    takes this lock first (one order: the account, then its links), so two such changes wait
    for each other instead of deadlocking (set-password against Deactivate did)."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def _end_open_links(user: User, purposes, now: datetime) -> None:
    lock_account(user)
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
    """Every unused link of this user stops working (set-password, recovery, a new address
    waiting for confirmation).

    For callers that change who a link reaches (a new email address) or whether it may be
    used at all (deactivation).
    """
    _end_open_links(user, AccountTokenPurpose, utcnow())


def issue_link(
    user: User, purpose: AccountTokenPurpose, new_email: str | None = None
) -> IssuedLink:
    """A new link for this user and purpose; earlier unused links of that purpose end."""
    now = utcnow()
    _end_open_links(user, [purpose], now)  # locks the account first
    token = secrets.token_urlsafe(32)
    expires_at = now + _lifetime(purpose)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires_at,
            new_email=new_email,
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


def pending_email_change(user: User) -> AccountToken | None:
    """The new login address waiting for its owner's confirmation, if any."""
    return db.session.scalar(
        select(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == AccountTokenPurpose.CHANGE_EMAIL,
            AccountToken.used_at.is_(None),
            AccountToken.replaced_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
        .order_by(AccountToken.id.desc())
        .limit(1)
    )


def _spend(account_token: AccountToken) -> None:
    """Mark the token used unless someone else just did: the database decides the race."""
    lock_account(account_token.user)
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
