"""Public links: made, disabled and rotated by staff; signed up through by anyone who has one.

A sign-up makes no account: it keeps what was typed and emails a one-time confirmation link
to the address (someone else may have typed it). Confirming makes the Active account, or,
with approval on, puts the sign-up in the MANAGE → Users queue, where staff approve (the
account is made) or decline it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit, zones
from ..accounts.links import hash_token
from ..auth.passwords import hash_password
from ..auth.services import login_account
from ..emails import normalize_email
from ..extensions import db
from ..invites.rows import email_conflict
from ..invites.tokens import new_nonce, parse_token, public_link_matches, public_link_token
from ..mail.services import queue_mail
from ..models import (
    Occupation,
    PartnerOrganization,
    PublicLink,
    PublicSignup,
    SignupState,
    Sponsor,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from ..notices import services as notices
from ..people import occupation_refusal, partner_type_refusal
from ..refusals import AllRefused, Refused
from ..tenancy import scoped

SIGN_UP_PATH = "/p/"
CONFIRM_PATH = "/p/confirm/"
# The confirmation link works this long; an unconfirmed sign-up is nothing until then.
CONFIRM_DAYS = 3
MAX_SIGNUPS = 100_000
# A label of letters, digits and hyphens, then more labels: "acmerobotics.com".
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# random token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
_TOKEN_MAX_LENGTH = 64


class LinkClosed(Refused):
    """A public link that takes no sign-ups; reason: invalid, disabled, rotated, expired, full."""

    def __init__(self, reason: str, link: PublicLink | None = None):
        super().__init__(f"This sign-up link cannot be used ({reason}).")
        self.reason = reason
        self.link = link


class ConfirmationProblem(Refused):
    """A confirmation link that cannot be used; reason: invalid, expired, used, replaced,
    closed (its public link stopped taking sign-ups), taken (the address has an account)."""

    def __init__(self, reason: str, signup: PublicSignup | None = None):
        super().__init__(f"This confirmation link cannot be used ({reason}).")
        self.reason = reason
        self.signup = signup


# --- staff: the links ---------------------------------------------------------------------


@dataclass
class LinkInput:
    organization_id: int | None
    user_type: UserType | None
    occupation_id: int | None = None
    expires_on: date | None = None
    max_signups: int | None = None
    allowed_domains: str | None = None
    require_approval: bool = False


def parse_domains(text: str | None) -> list[str]:
    """The domains a staff member typed (spaces, commas or lines between them; "@" allowed)."""
    domains = []
    for raw in re.split(r"[\s,;]+", (text or "").strip().lower()):
        domain = raw.lstrip("@").rstrip(".")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise Refused(
                f"“{raw}” is not a domain. Type domains such as acmerobotics.com, "
                "separated by spaces or commas.",
                "allowed_domains",
            )
        if domain not in domains:
            domains.append(domain)
    return domains


def sponsor_today(sponsor_id: int) -> date:
    sponsor = db.session.get(Sponsor, sponsor_id)
    return zones.local(utcnow(), sponsor.time_zone).date()


def create_link(data: LinkInput, actor: User) -> PublicLink:
    """A new public link of the actor's sponsor; every field that breaks a rule is refused."""
    refusals = []
    organization = None
    if data.organization_id:
        organization = db.session.scalar(
            scoped(PartnerOrganization).where(PartnerOrganization.id == data.organization_id)
        )
    if organization is None:
        refusals.append(Refused("Choose the organization people sign up for.", "organization"))
    refusal = partner_type_refusal(data.user_type)
    if refusal:
        refusals.append(refusal)
    occupation = None
    if data.user_type is UserType.MENTOR and data.occupation_id:
        occupation = db.session.scalar(
            scoped(Occupation).where(Occupation.id == data.occupation_id)
        )
    refusal = occupation_refusal(data.user_type, occupation)
    if refusal:
        refusals.append(refusal)
    if data.expires_on is not None and data.expires_on < sponsor_today(actor.sponsor_id):
        refusals.append(Refused("Choose today or a later day.", "expires_on"))
    if data.max_signups is not None and not 1 <= data.max_signups <= MAX_SIGNUPS:
        refusals.append(
            Refused(f"Use a number from 1 to {MAX_SIGNUPS:,}, or leave it blank.", "max_signups")
        )
    try:
        domains = parse_domains(data.allowed_domains)
    except Refused as refused:
        refusals.append(refused)
        domains = []
    if refusals:
        raise AllRefused(refusals)
    link = PublicLink(
        sponsor_id=actor.sponsor_id,
        partner_organization_id=organization.id,
        user_type=data.user_type,
        occupation_id=occupation.id if occupation else None,
        nonce=new_nonce(),
        expires_on=data.expires_on,
        max_signups=data.max_signups,
        signup_count=0,
        allowed_domains=" ".join(domains) or None,
        require_approval=bool(data.require_approval),
        created_by_id=actor.id,
    )
    db.session.add(link)
    db.session.flush()
    audit.record("created", link, actor_id=actor.id)
    return link


def sponsor_links(organization_id: int | None = None) -> list[PublicLink]:
    """The current sponsor's public links, newest first; those of one organization if given."""
    stmt = (
        scoped(PublicLink)
        .order_by(PublicLink.created_at.desc(), PublicLink.id.desc())
        .options(
            joinedload(PublicLink.partner_organization),
            joinedload(PublicLink.occupation),
            joinedload(PublicLink.created_by),
        )
    )
    if organization_id is not None:
        stmt = stmt.where(PublicLink.partner_organization_id == organization_id)
    return list(db.session.scalars(stmt))


def link_url(link: PublicLink) -> str:
    """Links point at PUBLIC_URL, never at whatever Host a request carried."""
    return f"{current_app.config['PUBLIC_URL']}{SIGN_UP_PATH}{public_link_token(link)}"


def closed_reason(link: PublicLink) -> str | None:
    """Why the link takes no sign-ups now (disabled, expired, full), or None: it is open."""
    if link.disabled_at is not None:
        return "disabled"
    if link.expires_on is not None and link.expires_on < sponsor_today(link.sponsor_id):
        return "expired"
    if link.max_signups is not None and link.signup_count >= link.max_signups:
        return "full"
    return None


def disable_link(link: PublicLink, actor: User) -> None:
    if link.disabled_at is not None:
        raise Refused("This link is already disabled.")
    link.disabled_at = utcnow()
    audit.record("disabled", link, actor_id=actor.id)
    notices.public_link_changed(link, actor, "disabled")


def rotate_link(link: PublicLink, actor: User) -> None:
    """A new URL with the same settings; the old one stops working at once."""
    link.previous_nonce = link.nonce
    link.nonce = new_nonce()
    link.rotated_at = utcnow()
    audit.record("rotated", link, actor_id=actor.id)
    notices.public_link_changed(link, actor, "rotated")


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
    listed = ", ".join(domains)
    return Refused(f"Use your work email address (at {listed}).", "email")


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
    if known:
        queue_mail(
            "public_signup_known",
            email,
            f"Your Scope account with {sponsor.name}",
            sponsor_id=sponsor.id,
            sponsor=sponsor,
            organization=organization,
            invited=known == "invitation",
            link=f"{current_app.config['PUBLIC_URL']}/login",
        )
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
        )
    )
    queue_mail(
        "public_signup_confirm",
        email,
        f"Confirm your email address for {sponsor.name}",
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
    if reason in ("disabled", "expired"):
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
        raise Refused(f"{signup.full_name}'s sign-up was already decided.")


def approve_signup(signup: PublicSignup, actor: User) -> User:
    """Make the Active account and tell the person they can log in."""
    _require_waiting(signup)
    signup.pending_email = None
    db.session.flush()  # the address leaves the queue before an account takes it
    if login_account(signup.email) is not None or email_conflict(signup.sponsor_id, signup.email):
        raise Refused(f"{signup.email} already has an account or an invitation.")
    try:
        user = _create_account(signup)
    except ConfirmationProblem:
        raise Refused(f"{signup.email} already has an account.") from None
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
        f"Your Scope account with {sponsor.name} is ready",
        sponsor_id=sponsor.id,
        user_id=user.id,
        sponsor=sponsor,
        first_name=signup.first_name,
        link=f"{current_app.config['PUBLIC_URL']}/login",
    )
    return user


def decline_signup(signup: PublicSignup, actor: User) -> None:
    """No account; the person is told, and the link's count frees their place."""
    _require_waiting(signup)
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
    audit.record("declined", signup, actor_id=actor.id, email=signup.email)
    notices.public_signup_decided(signup, actor, None)
    sponsor = db.session.get(Sponsor, signup.sponsor_id)
    queue_mail(
        "public_signup_declined",
        signup.email,
        f"Your sign-up with {sponsor.name}",
        sponsor_id=sponsor.id,
        sponsor=sponsor,
        first_name=signup.first_name,
        organization=signup.public_link.partner_organization,
    )
