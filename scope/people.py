"""Rules every partner user's record follows, wherever it is written (wizards, profile edits)."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from .forms import use_at_most
from .models import PARTNER_USER_TYPES, Occupation, UserType
from .refusals import Refused

CHOOSE_OCCUPATION = _l("Choose the mentor's occupation.")
NAME_LENGTH = 100


def choose_type() -> str:
    """ "Choose a user type. The types are Administrator, Supervisor, Mentor and Provider." """
    *first, last = [t.label for t in PARTNER_USER_TYPES]
    return gettext(
        "Choose a user type. The types are %(types)s and %(last)s.",
        types=", ".join(first),
        last=last,
    )


def partner_type_refusal(user_type: UserType | None) -> Refused | None:
    """Partner users are administrators, supervisors, mentors or providers, never staff."""
    if user_type not in PARTNER_USER_TYPES:
        return Refused(choose_type(), "user_type")
    return None


def occupation_refusal(
    user_type: UserType | None,
    occupation: Occupation | None,
    named: str | None = None,
    held: int | None = None,
) -> Refused | None:
    """A mentor always has one of the sponsor's occupations, not a retired one unless it is
    the one they already have (`held`); `named` is what a file said."""
    if user_type is not UserType.MENTOR:
        return None
    if occupation is not None and occupation.retired_at is not None and occupation.id != held:
        return Refused(
            gettext(
                "“%(name)s” is retired on the Occupations list. "
                "Choose another occupation, or restore it there first.",
                name=named or occupation.name,
            ),
            "occupation",
        )
    if occupation is not None:
        return None
    if named:
        return Refused(
            gettext("“%(name)s” is not on the Occupations list.", name=named), "occupation"
        )
    return Refused(CHOOSE_OCCUPATION, "occupation")


def name_refusals(first_name: str | None, last_name: str | None) -> list[Refused]:
    """Both names are needed for a person who has not named themselves yet."""
    refusals = []
    for field, missing, value in (
        ("first_name", _l("Enter the first name."), first_name),
        ("last_name", _l("Enter the last name."), last_name),
    ):
        if not value:
            refusals.append(Refused(missing, field))
        elif len(value) > NAME_LENGTH:
            refusals.append(Refused(use_at_most(NAME_LENGTH), field))
    return refusals
