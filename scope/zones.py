"""Time zones: every time is stored in UTC and shown in the zone of whoever reads it.

A person's own zone (My account), else their sponsor's default (set by staff), else UTC.
Emails use the sponsor's zone: the reader's is not known when they are written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import has_request_context
from flask_babel import gettext
from flask_login import current_user

from .refusals import Refused

DEFAULT = "UTC"


@cache
def names() -> tuple[str, ...]:
    """The zones a person may choose: UTC, then each country's zones from tzdata's zone.tab
    (places, not the old aliases such as US/Eastern or EST5EDT), sorted."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    places = {
        line.split("\t")[2] for line in table.splitlines() if line and not line.startswith("#")
    }
    return (DEFAULT, *sorted(places & available_timezones()))


@cache
def choices() -> tuple[tuple[str, str, str | None], ...]:
    """The zones for a select, grouped by region: ("UTC", "UTC", None), then
    ("America/New_York", "New York", "America"), …"""
    grouped: list[tuple[str, str, str | None]] = [(DEFAULT, DEFAULT, None)]
    for name in names()[1:]:
        region, place = name.split("/", 1)
        grouped.append((name, place.replace("_", " ").replace("/", " – "), region))
    return tuple(grouped)


def label(name: str) -> str:
    """ "America/New_York" → "America/New York", as a person reads it."""
    return name.replace("_", " ")


def check(name: str | None) -> str | None:
    """A zone name as chosen, or Refused; blank means "not chosen"."""
    if not name:
        return None
    if name not in names():
        raise Refused(gettext("Choose a time zone from the list."), "time_zone")
    return name


@cache
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT)


def of(user) -> str:
    """The zone a person reads times in."""
    return user.time_zone or user.sponsor.time_zone or DEFAULT


def viewer() -> str:
    """The zone of the person this request is for (UTC for someone not logged in)."""
    if not has_request_context():
        return DEFAULT
    user = current_user._get_current_object()  # once: a page of dates asks for every one
    return of(user) if getattr(user, "is_authenticated", False) else DEFAULT


def local(value: datetime, name: str | None = None) -> datetime:
    """A stored (UTC) time in the zone `name`, or the viewer's."""
    return value.astimezone(zone(name or viewer()))


def clock(name: str) -> str:
    """The time now in a zone, named: "09:05 EST" (beside a chosen zone, to confirm it)."""
    moment = local(datetime.now(UTC), name)
    return f"{moment:%H:%M} {moment.tzname()}"
