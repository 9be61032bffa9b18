"""Public links: made, disabled and rotated by staff; signed up through by anyone who has one.

A sign-up makes no account: it keeps what was typed and emails a one-time confirmation link
to the address (someone else may have typed it). Confirming makes the Active account, or,
with approval on, puts the sign-up in the MANAGE → Users queue, where staff approve (the
account is made) or decline it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import gettext
from sqlalchemy.orm import joinedload

from .. import audit, zones
from ..extensions import db
from ..invites.drafts import not_archived
from ..invites.tokens import new_nonce, public_link_token
from ..models import (
    Occupation,
    PartnerOrganization,
    PublicLink,
    PublicSignup,
    Sponsor,
    User,
    UserType,
    utcnow,
)
from ..notices import services as notices
from ..people import occupation_refusal, partner_type_refusal
from ..refusals import AllRefused, Refused
from ..templating import format_number
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
        super().__init__(gettext("This sign-up link cannot be used (%(reason)s).", reason=reason))
        self.reason = reason
        self.link = link


class ConfirmationProblem(Refused):
    """A confirmation link that cannot be used; reason: invalid, expired, used, replaced,
    closed (its public link stopped taking sign-ups), taken (the address has an account)."""

    def __init__(self, reason: str, signup: PublicSignup | None = None):
        super().__init__(
            gettext("This confirmation link cannot be used (%(reason)s).", reason=reason)
        )
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
                gettext(
                    "“%(domain)s” is not a domain. Type domains such as acmerobotics.com, "
                    "separated by spaces or commas.",
                    domain=raw,
                ),
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
        refusals.append(
            Refused(gettext("Choose the organization people sign up for."), "organization")
        )
    else:
        try:
            not_archived(organization)
        except Refused as refused:
            refusals.append(refused)
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
        refusals.append(Refused(gettext("Choose today or a later day."), "expires_on"))
    if data.max_signups is not None and not 1 <= data.max_signups <= MAX_SIGNUPS:
        refusals.append(
            Refused(
                gettext(
                    "Use a number from 1 to %(max)s, or leave it blank.",
                    max=format_number(MAX_SIGNUPS),
                ),
                "max_signups",
            )
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
    """Why the link takes no sign-ups now (disabled, its organization archived, expired,
    full), or None: it is open. No one is added at an archived organization until it is
    restored (invites.drafts.not_archived); its links open again then."""
    if link.disabled_at is not None:
        return "disabled"
    if link.partner_organization.archived_at is not None:
        return "archived"
    if link.expires_on is not None and link.expires_on < sponsor_today(link.sponsor_id):
        return "expired"
    if link.max_signups is not None and link.signup_count >= link.max_signups:
        return "full"
    return None


def disable_link(link: PublicLink, actor: User) -> None:
    if link.disabled_at is not None:
        raise Refused(gettext("This link is already disabled."))
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
