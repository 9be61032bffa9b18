"""Rules every partner user's record follows, wherever it is written (wizards, profile edits)."""

from __future__ import annotations

from .models import PARTNER_USER_TYPES, Occupation, UserType
from .refusals import Refused

_TYPES = ", ".join(t.label for t in PARTNER_USER_TYPES[:-1])
CHOOSE_TYPE = f"Choose a user type. The types are {_TYPES} and {PARTNER_USER_TYPES[-1].label}."
CHOOSE_OCCUPATION = "Choose the mentor's occupation."
NAME_LENGTH = 100


def partner_type_refusal(user_type: UserType | None) -> Refused | None:
    """Partner users are administrators, supervisors, mentors or providers, never staff."""
    if user_type not in PARTNER_USER_TYPES:
        return Refused(CHOOSE_TYPE, "user_type")
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
            f"“{named or occupation.name}” is retired on the Occupations list. "
            "Choose another occupation, or restore it there first.",
            "occupation",
        )
    if occupation is not None:
        return None
    if named:
        return Refused(f"“{named}” is not on the Occupations list.", "occupation")
    return Refused(CHOOSE_OCCUPATION, "occupation")


def name_refusals(first_name: str | None, last_name: str | None) -> list[Refused]:
    """Both names are needed for a person who has not named themselves yet."""
    refusals = []
    for field, label, value in (
        ("first_name", "first", first_name),
        ("last_name", "last", last_name),
    ):
        if not value:
            refusals.append(Refused(f"Enter the {label} name.", field))
        elif len(value) > NAME_LENGTH:
            refusals.append(Refused(f"Use at most {NAME_LENGTH} characters.", field))
    return refusals
