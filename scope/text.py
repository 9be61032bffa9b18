"""Text from outside, cleaned one way, and the keys names are compared and sorted by."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(value: str) -> bool:
    """Characters no one types on purpose (NUL, escape, …); tab and line breaks are fine."""
    return bool(_CONTROL.search(value))


def clean_line(value):
    """One line of text: NFC, control characters removed, runs of whitespace collapsed."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", _CONTROL.sub("", value))
    return " ".join(value.split())


def clean_text(value):
    """Free text: like clean_line but keeps line breaks."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", _CONTROL.sub("", value)).replace("\r\n", "\n")
    return value.strip()


# NFC and case folding make a name at most three times as long in characters ("𝆹𝅥𝅮" U+1D1C0, "ﬃ"
# → "ffi", "ß" → "ss"): a key column holds three times the longest name it is made from.
KEY_GROWTH = 3


def key_length(name_length: int) -> int:
    """The length of a key column for names of at most `name_length` characters."""
    return name_length * KEY_GROWTH


def name_key(name: str | None) -> str:
    """How a name is compared, sorted and searched: case-folded, so "Maß" and "MASS" agree."""
    return " ".join(unicodedata.normalize("NFC", name or "").casefold().split())


def person_name_key(first_name: str | None, last_name: str | None) -> str:
    """People sort by last name, then first."""
    return name_key(f"{last_name or ''} {first_name or ''}")
