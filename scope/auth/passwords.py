"""One password policy for every place a password is set."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 512
# zxcvbn refuses more than 72 characters (and its cost grows with length); a passphrase that
# long is judged by its first 64, which is plenty to tell a strong one from a weak one.
_SCORED_PREFIX = 64
_MIN_SCORE = 3


def password_problem(password: str, *, hints: list[str] | tuple[str, ...] = ()) -> str | None:
    """Why this password is refused, or None. Length and guessability, no composition rules."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few unrelated words make a good password."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    result = zxcvbn(password[:_SCORED_PREFIX], user_inputs=[h for h in hints if h])
    if result["score"] < _MIN_SCORE:
        warning = result["feedback"].get("warning") or "This password is too easy to guess."
        advice = "Choose a less common password, for example a few unrelated words."
        return f"{warning.rstrip('.')}. {advice}"
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check, so a missing hash cannot be told apart.
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


_DUMMY_HASH = generate_password_hash("scope-timing-equaliser")
