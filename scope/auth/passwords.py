"""One password policy for every place a password is set."""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from ..i18n import N_

MIN_LENGTH = 12
MAX_LENGTH = 512
# zxcvbn refuses more than 72 characters (and its cost grows with length); a passphrase that
# long is judged by its first 64, which is plenty to tell a strong one from a weak one.
_SCORED_PREFIX = 64
_MIN_SCORE = 3


def password_problem(password: str, *, hints: list[str] | tuple[str, ...] = ()) -> str | None:
    """Why this password is refused, or None. Length and guessability, no composition rules."""
    if len(password) < MIN_LENGTH:
        return gettext(
            "Use at least %(count)s characters. A few unrelated words make a good password.",
            count=MIN_LENGTH,
        )
    if len(password) > MAX_LENGTH:
        return gettext("Use at most %(count)s characters.", count=MAX_LENGTH)
    result = zxcvbn(password[:_SCORED_PREFIX], user_inputs=[h for h in hints if h])
    if result["score"] < _MIN_SCORE:
        warning = result["feedback"].get("warning") or _TOO_EASY
        # zxcvbn's warnings are English; the catalog has them (listed below).
        return gettext(
            "%(warning)s. Choose a less common password, for example a few unrelated words.",
            warning=gettext(warning).rstrip("."),
        )
    return None


_TOO_EASY = N_("This password is too easy to guess.")
# zxcvbn's warnings (zxcvbn/feedback.py), so the catalog translates them.
ZXCVBN_WARNINGS = (
    N_("Straight rows of keys are easy to guess."),
    N_("Short keyboard patterns are easy to guess."),
    N_('Repeats like "aaa" are easy to guess.'),
    N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    N_('Sequences like "abc" or "6543" are easy to guess.'),
    N_("Recent years are easy to guess."),
    N_("Dates are often easy to guess."),
    N_("This is a top-10 common password."),
    N_("This is a top-100 common password."),
    N_("This is a very common password."),
    N_("This is similar to a commonly used password."),
    N_("A word by itself is easy to guess."),
    N_("Names and surnames by themselves are easy to guess."),
    N_("Common names and surnames are easy to guess."),
)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check, so a missing hash cannot be told apart.
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


_DUMMY_HASH = generate_password_hash("scope-timing-equaliser")
