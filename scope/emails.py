"""Email addresses: the one place an address from outside is judged and normalized."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from .refusals import Refused

MAX_LENGTH = 254
INVALID = _l("Enter a valid email address. For example: name@example.org.")


class EmailRefused(Refused):
    field = "email"


def normalize_email(raw: str | None) -> str:
    """The address as Scope stores it (NFC, lower-cased), or EmailRefused saying what is wrong.

    No DNS lookups: an address is judged by its form alone.
    """
    raw = (raw or "").strip()
    if not raw:
        raise EmailRefused(gettext("Enter an email address."))
    if len(raw) > MAX_LENGTH:
        raise EmailRefused(_too_long())
    try:
        address = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise EmailRefused(INVALID) from None
    if len(address) > MAX_LENGTH:
        raise EmailRefused(_too_long())
    return address


def _too_long() -> str:
    return gettext("An email address has at most %(count)s characters.", count=MAX_LENGTH)


def lookup_key(raw: str | None) -> str:
    """The form an address typed to find an account (log-in, recovery) is compared in.

    As stored when it is valid; otherwise NFC and lower-cased, so an account whose address
    today's rules would refuse (a reserved domain such as .test) can still log in.
    """
    try:
        return normalize_email(raw)
    except EmailRefused:
        return unicodedata.normalize("NFC", (raw or "").strip()).lower()


_SEPARATORS = ",;"
_NAMED = re.compile(r"(?s)(.*?)<\s*([^<>]*?)\s*>\s*")


def split_addresses(text: str) -> list[str]:
    """The addresses of a pasted list, as written: one a line, or separated by commas or
    semicolons; "Maria Lopez <maria@example.org>" gives the part in angle brackets. Commas
    inside quotes ("Lopez, Maria" <…>) do not separate. An entry of several addresses
    separated by spaces or tabs (a spreadsheet's row) gives each of them."""
    entries, current, quoted = [], [], False
    for char in text or "":
        if char == '"':
            quoted = not quoted
        if char in "\n\r" or char in _SEPARATORS and not quoted:
            entries.append("".join(current))
            current, quoted = [], False  # a line break ends an entry, quoted or not
        else:
            current.append(char)
    entries.append("".join(current))
    addresses = []
    for entry in entries:
        named = _NAMED.fullmatch(entry)
        if named is None and looks_like_several(entry):
            addresses.extend(entry.split())
            continue
        address = (named.group(2) if named else entry).strip()
        if address:
            addresses.append(address)
    return addresses


def looks_like_several(raw: str | None) -> bool:
    """Whether what was typed in one address field is a list of them."""
    return len([piece for piece in re.split(r"[\s,;]+", raw or "") if "@" in piece]) > 1
