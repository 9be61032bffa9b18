"""Rules for a sponsor's settings (its staff change them: settings.routes)."""

from __future__ import annotations

from .. import i18n, zones
from ..models import Sponsor
from ..refusals import Refused


def set_time_zone(sponsor: Sponsor, name: str | None) -> None:
    """The zone the sponsor's people read times in unless they chose their own."""
    chosen = zones.check(name)
    if chosen is None:
        raise Refused("Choose a time zone.", "time_zone")
    sponsor.time_zone = chosen


def set_language(sponsor: Sponsor, code: str | None) -> None:
    """The language of the sponsor's invitations unless staff pick another for a batch, and
    of its emails to people who never chose one."""
    if i18n.check(code) is None:
        raise Refused("Choose a language from the list.", "language")
    sponsor.language = code


def set_invitation_reminders(sponsor: Sponsor, enabled: bool) -> None:
    """Whether pending invitations get reminder emails (invites/reminders.py sends them)."""
    sponsor.invitation_reminders = bool(enabled)
