"""Public links, the public side: signing up, confirming by email, and staff approving or
declining a sign-up."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit, i18n
from ..accounts.links import hash_token
from ..auth.passwords import hash_password
from ..auth.services import login_account
from ..emails import normalize_email
from ..extensions import db
from ..invites.drafts import not_archived
from ..invites.rows import email_conflict
from ..invites.tokens import parse_token, public_link_matches
from ..mail.services import queue_mail
from ..models import (
    PublicLink,
    PublicSignup,
    SignupState,
    Sponsor,
    User,
    UserStatus,
    utcnow,
)
from ..notices import services as notices
from ..refusals import Refused
from ..templating import format_list
from ..tenancy import scoped
from .services import (
    _TOKEN_MAX_LENGTH,
    CONFIRM_DAYS,
    CONFIRM_PATH,
    ConfirmationProblem,
    LinkClosed,
    closed_reason,
)

# --- the public side: signing up -----------------------------------------------------------


def link_for_token(token: str) -> PublicLink:
    """The open public link a URL is for, or LinkClosed saying why not. Without a valid MAC
    nothing about the link is told; with the MAC of the URL before a Rotate, that it was
    replaced."""
    parsed = parse_token(token)
    link = db.session.get(PublicLink, parsed[0]) if parsed else None
    if link is None:
        raise LinkClosed("invalid")
    if not public_link_matches(link, parsed[1]):
        previous = link.previous_nonce
        if previous and public_link_matches(link, parsed[1], previous):
            raise LinkClosed("rotated", link)
        raise LinkClosed("invalid")
    reason = closed_reason(link)
    if reason:
        raise LinkClosed(reason, link)
    return link


def domain_refusal(link: PublicLink, email: str) -> Refused | None:
    """An address outside the link's allowed domains is refused beside the field."""
    domains = link.domains
    if not domains or email.rpartition("@")[2] in domains:
        return None
    listed = format_list(domains)
    return Refused(
        gettext("Use your work email address (at %(domains)s).", domains=listed), "email"
    )


def _known_address(sponsor_id: int, email: str) -> str | None:
    """Whether the address is already someone's: "account" (a login anywhere, or a record of
    this sponsor, or a sign-up awaiting approval) or "invitation" (a pending one)."""
    if login_account(email) is not None:
        return "account"
    conflict = email_conflict(sponsor_id, email)
    if conflict is not None:
        return "invitation" if conflict.invitation_id else "account"
    waiting = select(PublicSignup.id).where(
        PublicSignup.sponsor_id == sponsor_id, PublicSignup.pending_email == email
    )
    if db.session.scalar(waiting) is not None:
        return "account"
    return None


def _tell_known_address(
    email: str, sponsor: Sponsor, organization, language: str, invited: bool
) -> None:
    """The mailbox's owner alone learns the address is already theirs: log in (or use the
    invitation they have). In their own language when they chose one."""
    owner = login_account(email)
    queue_mail(
        "public_signup_known",
        email,
        _l("Your Scope account with %(sponsor)s", sponsor=sponsor.name),
        language=(owner and i18n.check(owner.language)) or language,
        sponsor_id=sponsor.id,
        sponsor=sponsor,
        organization=organization,
        invited=invited,
        link=f"{current_app.config['PUBLIC_URL']}/login",
    )


def start_signup(
    link: PublicLink, *, first_name: str, last_name: str, email: str, password: str
) -> None:
    """Email the address a confirmation link, or, when it is already someone's, a note that
    says so to the mailbox's owner only: the page answers the same either way.

    Raises Refused (beside Email) for an address outside the link's domains.
    """
    email = normalize_email(email)
    refusal = domain_refusal(link, email)
    if refusal:
        raise refusal
    # Hashed whether or not it is kept: the answer takes as long for a known address.
    password_hash = hash_password(password)
    sponsor = db.session.get(Sponsor, link.sponsor_id)
    organization = link.partner_organization
    known = _known_address(link.sponsor_id, email)
    # The emails speak the language of the page the person signed up on.
    language = i18n.current()
    if known:
        _tell_known_address(email, sponsor, organization, language, invited=known == "invitation")
        return
    now = utcnow()
    # An earlier unconfirmed sign-up of this address through this link ends: one live link.
    db.session.execute(
        update(PublicSignup)
        .where(
            PublicSignup.public_link_id == link.id,
            PublicSignup.email == email,
            PublicSignup.state == SignupState.UNCONFIRMED,
        )
        .values(state=SignupState.REPLACED, password_hash=None)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=CONFIRM_DAYS)
    db.session.add(
        PublicSignup(
            sponsor_id=link.sponsor_id,
            public_link_id=link.id,
            email=email,
            first_name=first_name,
            last_name=last_name,
            password_hash=password_hash,
            state=SignupState.UNCONFIRMED,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires_at,
            language=language,
        )
    )
    queue_mail(
        "public_signup_confirm",
        email,
        _l("Confirm your email address for %(sponsor)s", sponsor=sponsor.name),
        language=language,
        sponsor_id=sponsor.id,
        sponsor=sponsor,
        organization=organization,
        user_type=link.user_type,
        first_name=first_name,
        link=f"{current_app.config['PUBLIC_URL']}{CONFIRM_PATH}{token}",
        expires_at=expires_at,
        require_approval=link.require_approval,
    )


def signup_for_token(token: str) -> PublicSignup:
    """The unconfirmed sign-up a confirmation link is for. Reading only: opening the link (a
    mail scanner does) never confirms it."""
    if not isinstance(token, str) or not 0 < len(token) <= _TOKEN_MAX_LENGTH:
        raise ConfirmationProblem("invalid")
    signup = db.session.scalar(
        select(PublicSignup).where(PublicSignup.token_hash == hash_token(token))
    )
    if signup is None:
        raise ConfirmationProblem("invalid")
    if signup.state is SignupState.REPLACED:
        raise ConfirmationProblem("replaced", signup)
    if signup.state is not SignupState.UNCONFIRMED:
        raise ConfirmationProblem("used", signup)
    if signup.expires_at <= utcnow():
        raise ConfirmationProblem("expired", signup)
    return signup


def _create_account(signup: PublicSignup) -> User:
    """The Active account; the database refuses a second account for the address."""
    link = signup.public_link
    try:
        with db.session.begin_nested():
            user = User(
                sponsor_id=signup.sponsor_id,
                email=signup.email,
                first_name=signup.first_name,
                last_name=signup.last_name,
                user_type=link.user_type,
                status=UserStatus.ACTIVE,
                partner_organization_id=link.partner_organization_id,
                occupation_id=link.occupation_id,
                password_hash=signup.password_hash,
            )
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise ConfirmationProblem("taken", signup) from None
    signup.user_id = user.id
    signup.password_hash = None
    return user


def confirm_signup(signup: PublicSignup) -> User | None:
    """The person confirmed their address: the Active account, or None when the sign-up now
    awaits approval. Of simultaneous confirmations of one address, one wins; the others raise
    ConfirmationProblem and the caller rolls back."""
    link = signup.public_link
    reason = closed_reason(link)
    if reason in ("disabled", "archived", "expired"):
        raise ConfirmationProblem("closed", signup)
    now = utcnow()
    target = SignupState.AWAITING_APPROVAL if link.require_approval else SignupState.APPROVED
    claimed = db.session.execute(
        update(PublicSignup)
        .where(
            PublicSignup.id == signup.id,
            PublicSignup.state == SignupState.UNCONFIRMED,
            PublicSignup.expires_at > now,
        )
        .values(state=target, confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise ConfirmationProblem("used", signup)
    signup.state, signup.confirmed_at = target, now
    if _known_address(signup.sponsor_id, signup.email):
        raise ConfirmationProblem("taken", signup)
    # The count is raised in SQL against the maximum, so a full link admits no one more.
    counted = db.session.execute(
        update(PublicLink)
        .where(
            PublicLink.id == link.id,
            (PublicLink.max_signups.is_(None)) | (PublicLink.signup_count < PublicLink.max_signups),
        )
        .values(signup_count=PublicLink.signup_count + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:
        raise ConfirmationProblem("closed", signup)
    if link.require_approval:
        try:
            with db.session.begin_nested():
                signup.pending_email = signup.email
                db.session.flush()
        except IntegrityError:
            raise ConfirmationProblem("taken", signup) from None
        audit.record("confirmed", signup, actor_id=None, email=signup.email)
        notices.public_signup_waiting(signup)
        return None
    user = _create_account(signup)
    audit.record("signed_up", user, actor_id=user.id, public_link_id=link.id)
    return user


# --- staff: the approval queue --------------------------------------------------------------


def awaiting_approval() -> list[PublicSignup]:
    """The current sponsor's confirmed sign-ups waiting for a decision, oldest first."""
    stmt = (
        scoped(PublicSignup)
        .where(PublicSignup.state == SignupState.AWAITING_APPROVAL)
        .order_by(PublicSignup.confirmed_at, PublicSignup.id)
        .options(
            joinedload(PublicSignup.public_link).joinedload(PublicLink.partner_organization),
            joinedload(PublicSignup.public_link).joinedload(PublicLink.occupation),
        )
    )
    return list(db.session.scalars(stmt))


def _require_waiting(signup: PublicSignup) -> None:
    if signup.state is not SignupState.AWAITING_APPROVAL:
        raise Refused(gettext("%(name)s's sign-up was already decided.", name=signup.full_name))


def approve_signup(signup: PublicSignup, actor: User) -> User | None:
    """Make the Active account and tell the person they can log in.

    None when the address has become a login elsewhere since it was confirmed (another
    sponsor's account, or one made at the same moment): no account can be made, so the
    sign-up closes and only the mailbox's owner is told why. Staff learn nothing of other
    sponsors' accounts. Refused when this sponsor already has the address."""
    _require_waiting(signup)
    not_archived(signup.public_link.partner_organization)
    signup.pending_email = None
    db.session.flush()  # the address leaves the queue before an account takes it
    if email_conflict(signup.sponsor_id, signup.email):
        raise Refused(
            gettext("%(email)s already has an account or an invitation.", email=signup.email)
        )
    if login_account(signup.email) is not None:
        _close_for_known_address(signup, actor)
        return None
    try:
        user = _create_account(signup)
    except ConfirmationProblem:  # an account of the address was made at the same moment
        if email_conflict(signup.sponsor_id, signup.email):  # here: the sign-up waits on
            raise Refused(
                gettext("%(email)s already has an account or an invitation.", email=signup.email)
            ) from None
        _close_for_known_address(signup, actor)
        return None
    now = utcnow()
    signup.state, signup.decided_at, signup.decided_by_id = SignupState.APPROVED, now, actor.id
    audit.record("approved", signup, actor_id=actor.id, user_id=user.id)
    audit.record("signed_up", user, actor_id=user.id, public_link_id=signup.public_link_id)
    audit.record("approved", user, actor_id=actor.id)
    notices.public_signup_decided(signup, actor, user)
    sponsor = db.session.get(Sponsor, signup.sponsor_id)
    queue_mail(
        "public_signup_approved",
        signup.email,
        _l("Your Scope account with %(sponsor)s is ready", sponsor=sponsor.name),
        language=i18n.recipient_language(user, sponsor=sponsor),
        sponsor_id=sponsor.id,
        user_id=user.id,
        sponsor=sponsor,
        first_name=signup.first_name,
        link=f"{current_app.config['PUBLIC_URL']}/login",
    )
    return user


def _close(signup: PublicSignup, actor: User) -> None:
    """The sign-up is decided without an account: the link's count frees its place."""
    now = utcnow()
    signup.state, signup.decided_at, signup.decided_by_id = SignupState.DECLINED, now, actor.id
    signup.pending_email = None
    signup.password_hash = None
    db.session.execute(
        update(PublicLink)
        .where(PublicLink.id == signup.public_link_id, PublicLink.signup_count > 0)
        .values(signup_count=PublicLink.signup_count - 1)
        .execution_options(synchronize_session=False)
    )


def _close_for_known_address(signup: PublicSignup, actor: User) -> None:
    """Approved, but the address is already a login: the mailbox's owner is told to use it,
    as a sign-up of a known address is (start_signup)."""
    _close(signup, actor)
    audit.record("closed_known_address", signup, actor_id=actor.id, email=signup.email)
    sponsor = db.session.get(Sponsor, signup.sponsor_id)
    organization = signup.public_link.partner_organization
    _tell_known_address(signup.email, sponsor, organization, signup.language, invited=False)


def decline_signup(signup: PublicSignup, actor: User) -> None:
    """No account; the person is told, and the link's count frees their place."""
    _require_waiting(signup)
    _close(signup, actor)
    audit.record("declined", signup, actor_id=actor.id, email=signup.email)
    notices.public_signup_decided(signup, actor, None)
    sponsor = db.session.get(Sponsor, signup.sponsor_id)
    queue_mail(
        "public_signup_declined",
        signup.email,
        _l("Your sign-up with %(sponsor)s", sponsor=sponsor.name),
        language=signup.language,
        sponsor_id=sponsor.id,
        sponsor=sponsor,
        first_name=signup.first_name,
        organization=signup.public_link.partner_organization,
    )
