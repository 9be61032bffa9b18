"""Email addresses: the one place an address from outside is judged and normalized."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from .refusals import Refused

MAX_LENGTH = 254
INVALID = "Enter a valid email address. For example: name@example.org."


class EmailRefused(Refused):
    field = "email"


def normalize_email(raw: str | None) -> str:
    """The address as Scope stores it (NFC, lower-cased), or EmailRefused saying what is wrong.

    No DNS lookups: an address is judged by its form alone.
    """
    raw = (raw or "").strip()
    if not raw:
        raise EmailRefused("Enter an email address.")
    if len(raw) > MAX_LENGTH:
        raise EmailRefused(f"An email address has at most {MAX_LENGTH} characters.")
    try:
        address = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise EmailRefused(INVALID) from None
    if len(address) > MAX_LENGTH:
        raise EmailRefused(f"An email address has at most {MAX_LENGTH} characters.")
    return address


def lookup_key(raw: str | None) -> str:
    """The form an address typed to find an account (log-in, recovery) is compared in.

    As stored when it is valid; otherwise NFC and lower-cased, so an account whose address
    today's rules would refuse (a reserved domain such as .test) can still log in.
    """
    try:
        return normalize_email(raw)
    except EmailRefused:
        return unicodedata.normalize("NFC", (raw or "").strip()).lower()
