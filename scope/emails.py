"""Email addresses: the one place an address from outside is judged and normalized."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from .refusals import Refused

MAX_LENGTH = 254


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
        raise EmailRefused("Enter a valid email address, like name@example.org.") from None
    if len(address) > MAX_LENGTH:
        raise EmailRefused(f"An email address has at most {MAX_LENGTH} characters.")
    return address


def lookup_key(raw: str | None) -> str | None:
    """The stored form of an address someone typed to find their account, or None.

    For log-in and recovery, where a malformed address simply matches no account.
    """
    try:
        return normalize_email(raw)
    except EmailRefused:
        return None
