"""Picking one of the sponsor's organizations by typing part of its name.

The organization pickers (the INVITE wizards, the MANAGE → Users filter) are comboboxes:
search() answers each keystroke; pick() decides what a submitted picker means, whether the
browser ran the combobox (an id) or not (only the typed name).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import case, or_

from ..extensions import db
from ..forms import use_at_most
from ..models import OrganizationKind, PartnerOrganization
from ..refusals import Refused
from ..tenancy import current_sponsor_id, parse_id, scoped
from ..text import clean_line, name_key
from .services import DuplicateName, create_organization

# Enough to find one by a few letters, few enough to read: the rest are a keystroke away.
MATCHES = 20
# Names are at most 200 characters: nothing longer can match.
MAX_QUERY = 200
# What the picker posts for its "Create employer “…”" choice.
CREATE = "new"
# Characters that start a word inside a name, besides a space: "Smith-Jones", "(OH)", "A/B".
_WORD_STARTS = (" ", "-", "(", "/", "&")


@dataclass(frozen=True)
class Match:
    id: int
    name: str
    kind: OrganizationKind
    name_key: str


class NotPicked(Refused):
    """The picker names no one organization: what matched the typed name, and whether an
    employer of that name may be created, so the page can offer them."""

    field = "organization"

    def __init__(self, message: str, matches: list[Match] = (), create: str | None = None):
        super().__init__(message)
        self.matches = list(matches)
        self.create = create


def query_key(typed: str | None) -> str:
    """How a typed search compares with names: cleaned, case-folded, at most a name's length."""
    return name_key(clean_line(typed or ""))[:MAX_QUERY]


def search(typed: str | None, limit: int = MATCHES, archived: bool = True) -> list[Match]:
    """The current sponsor's organizations whose name contains what was typed, best first:
    the name itself, then names starting with it, then a word starting with it, then the rest.

    Wildcards (% and _) are plain characters here. At 2,000 organizations this reads the
    sponsor's rows of one index (ix_partner_organization_sponsor_name) once.
    """
    key = query_key(typed)
    column = PartnerOrganization.name_key
    stmt = scoped(
        PartnerOrganization,
        PartnerOrganization.id,
        PartnerOrganization.name,
        PartnerOrganization.kind,
        column,
    )
    if not archived:  # the wizards add people only to organizations not archived
        stmt = stmt.where(PartnerOrganization.archived_at.is_(None))
    if key:
        word_start = or_(*(column.contains(s + key, autoescape=True) for s in _WORD_STARTS))
        rank = case(
            (column == key, 0),
            (column.startswith(key, autoescape=True), 1),
            (word_start, 2),
            else_=3,
        )
        stmt = stmt.where(column.contains(key, autoescape=True)).order_by(rank)
    stmt = stmt.order_by(column, PartnerOrganization.kind, PartnerOrganization.id).limit(limit)
    return [Match(*row) for row in db.session.execute(stmt)]


def create_offer(typed: str | None, matches: list[Match]) -> str | None:
    """The name "Create employer “…”" offers: what was typed, unless an employer has exactly
    that name (it is chosen, never duplicated). `matches` are search(typed)'s, best first."""
    name = clean_line(typed or "")
    if not name or len(name) > MAX_QUERY:
        return None
    key = name_key(name)
    exact = any(m.name_key == key and m.kind is OrganizationKind.EMPLOYER for m in matches)
    return None if exact else name


def chosen(organization_id) -> PartnerOrganization | None:
    """The current sponsor's organization with this id; another sponsor's is no one's."""
    ident = parse_id(organization_id)
    if ident is None:
        return None
    return db.session.scalar(scoped(PartnerOrganization).where(PartnerOrganization.id == ident))


def pick(value, typed: str | None, *, choice=None, may_create: bool = False) -> PartnerOrganization:
    """What a submitted picker chose: `value` is its hidden choice (an id, or CREATE), `typed`
    the text in its box, `choice` a radio picked among the candidates a page offered. Without
    JavaScript there is only the text: a name that matches one organization exactly picks
    it; otherwise NotPicked lists the candidates.

    A hidden id whose name no longer agrees with the text (typed over without the script)
    yields to the text; a radio choice does not (the text is still the search it answered).
    """
    name = clean_line(typed or "")
    key = name_key(name)
    if choice:
        value = choice
    if value == CREATE and may_create and name:
        return _employer_named(name)
    organization = chosen(value)
    if organization is not None and (choice or not key or key == organization.name_key):
        return organization
    if not key:
        raise NotPicked(gettext("Choose an organization from the list."))
    matches = search(name)
    exact = [m for m in matches if m.name_key == key]
    if len(exact) == 1:
        return chosen(exact[0].id)
    create = create_offer(name, matches) if may_create else None
    if exact:
        message = gettext(
            "Both an employer and a provider are named “%(name)s”: choose one.", name=name
        )
    elif matches:
        message = gettext(
            "No organization is named exactly “%(name)s”: choose one of these.", name=name
        )
    elif may_create:
        message = gettext("No organization matches “%(name)s”.", name=name)
    else:
        message = gettext(
            "No organization matches “%(name)s”. "
            "Check the spelling, or search for part of the name.",
            name=name,
        )
    raise NotPicked(message, matches, create)


def _employer_named(name: str) -> PartnerOrganization:
    """The employer of this name: the one there is, or a new one, made the way CREATE+ on
    the Employers page makes it (its rules and refusals)."""
    existing = scoped(PartnerOrganization).where(
        PartnerOrganization.kind == OrganizationKind.EMPLOYER,
        PartnerOrganization.name_key == name_key(name),
    )
    organization = db.session.scalar(existing)
    if organization is not None:
        return organization
    if len(name) > MAX_QUERY:
        raise NotPicked(use_at_most(MAX_QUERY))
    try:
        return create_organization(current_sponsor_id(), OrganizationKind.EMPLOYER, {"name": name})
    except DuplicateName:  # another request created it a moment ago
        return db.session.scalar(existing)
