"""Rules for a sponsor's settings (its staff change them: settings.routes)."""

from __future__ import annotations

from flask_babel import gettext

from .. import audit, i18n, zones
from ..models import Sponsor, User
from ..refusals import Refused


def set_time_zone(sponsor: Sponsor, name: str | None) -> None:
    """The zone the sponsor's people read times in unless they chose their own."""
    chosen = zones.check(name)
    if chosen is None:
        raise Refused(gettext("Choose a time zone."), "time_zone")
    sponsor.time_zone = chosen


def set_language(sponsor: Sponsor, code: str | None) -> None:
    """The language of the sponsor's invitations unless staff pick another for a batch, and
    of its emails to people who never chose one."""
    if i18n.check(code) is None:
        raise Refused(gettext("Choose a language from the list."), "language")
    sponsor.language = code


def set_invitation_reminders(sponsor: Sponsor, enabled: bool) -> None:
    """Whether pending invitations get reminder emails (invites/reminders.py sends them)."""
    sponsor.invitation_reminders = bool(enabled)


def set_partner_invites(sponsor: Sponsor, allow: bool, allow_admins: bool, actor: User) -> None:
    """Whether partner administrators invite people to their own organization (and other
    administrators too); the second switch means nothing without the first."""
    allow_admins = bool(allow and allow_admins)
    if (sponsor.partner_admins_invite, sponsor.partner_admins_invite_admins) == (
        bool(allow),
        allow_admins,
    ):
        return
    sponsor.partner_admins_invite = bool(allow)
    sponsor.partner_admins_invite_admins = allow_admins
    audit.record(
        "partner_invites_changed",
        sponsor,
        sponsor_id=sponsor.id,
        actor_id=actor.id,
        allow=bool(allow),
        allow_admins=allow_admins,
    )
