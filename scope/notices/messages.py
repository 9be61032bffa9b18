"""How each kind of notice reads: a notice keeps its kind and details (names, addresses,
organization, user type), and is worded when it is read, in the reader's language.

The English wording is also stored with the notice: rows from before details were kept,
and anything reading the table directly, have it.
"""

from __future__ import annotations

from flask_babel import gettext, ngettext

from .. import i18n
from ..models import UserType
from ..templating import format_number

# %(where)s: "Acme Robotics, Supervisor" (organization, user type, occupation).
_MESSAGES = {
    "accepted": i18n.N_("%(name)s accepted your invitation (%(where)s)"),
    "undeliverable": i18n.N_("The invitation to %(email)s could not be delivered."),
    "undeliverable_because": i18n.N_(
        "The invitation to %(email)s could not be delivered: %(error)s"
    ),
    "awaiting_approval": i18n.N_(
        "%(name)s signed up through your public link (%(where)s) and awaits approval"
    ),
    "approved": i18n.N_(
        "%(actor)s approved %(name)s's sign-up through your public link (%(where)s)"
    ),
    "declined": i18n.N_(
        "%(actor)s declined %(name)s's sign-up through your public link (%(where)s)"
    ),
    "link_disabled": i18n.N_("%(actor)s disabled your public link (%(where)s)"),
    "link_rotated": i18n.N_("%(actor)s rotated your public link (%(where)s)"),
}


def where(organization: str | None, user_type: str, occupation: str | None = None) -> dict:
    """The details a notice names its invitation or link by."""
    return {"organization": organization, "user_type": user_type, "occupation": occupation}


def _where(params: dict) -> str:
    parts = [params.get("organization"), UserType(params["user_type"]).label]
    return ", ".join(part for part in (*parts, params.get("occupation")) if part)


def word(kind: str, params: dict) -> str:
    """The notice in the current language."""
    if kind == "expiring":
        count = int(params["count"])
        return ngettext(
            "%(count)s invitation you sent expires tomorrow",
            "%(count)s invitations you sent expire tomorrow",
            count,
            count=format_number(count),
        )
    if kind == "undeliverable" and params.get("error"):
        kind = "undeliverable_because"
    variables = dict(params)
    if "user_type" in params:
        variables["where"] = _where(params)
    return gettext(_MESSAGES[kind], **variables)


def in_english(kind: str, params: dict) -> str:
    with i18n.writing_in("en"):
        return word(kind, params)


def read(kind: str, params: dict | None, stored: str) -> str:
    """What a reader sees: worded now, or the stored English of a notice without details."""
    if params is None:
        return stored
    try:
        return word(kind, params)
    except (KeyError, ValueError, TypeError):
        return stored
