"""Search as you type over users' names and emails: substring match on both databases.

A word matches a user when it occurs anywhere in their name key ("last first", case-folded)
or their email; every word of the search must match. On PostgreSQL that is LIKE, answered
by a trigram GIN index (pg_trgm, migration 0002). SQLite has no index that answers
LIKE '%word%', so a rare word scanned all of a sponsor's users on every keystroke; there
an FTS5 trigram index, `user_search`, kept by triggers on user_account (migration 0003),
finds the few users a rare word matches. A common word (thousands of matches) is faster
the old way, walking the users in display order until the page and its count are full,
so one cheap probe of the index decides which way a search goes.
"""

from __future__ import annotations

import weakref

from sqlalchemy import and_, column, func, inspect, or_, select, table, text

from .extensions import db
from .models import User
from .text import name_key

SEARCH_TABLE = "user_search"
# Words shorter than a trigram cannot use the trigram index.
MIN_INDEXED = 3
# Past this many matches, walking the users in order finds a page sooner than sorting the
# matches (measured at 100,000 users: both about 6 ms at roughly 2,000 matches).
DENSE = 2000
# Where a word of a name or an email address starts: a match there is a better match.
NAME_WORD_STARTS = (" ", "-")
EMAIL_WORD_STARTS = (".", "@", "_", "-", "+")

_index = table(SEARCH_TABLE, column("rowid"))


def is_search_index(name: str | None) -> bool:
    """The FTS5 tables SQLite keeps for user_search (not in the models; migrations own them)."""
    return bool(name) and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


def include_name(name, type_, parent_names) -> bool:
    """Alembic's filter: autogenerate and the drift check leave the search index alone."""
    return not (type_ == "table" and is_search_index(name))


_checked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _has_index() -> bool:
    """Whether this database has the SQLite search index (asked once per engine)."""
    engine = db.engine
    if engine not in _checked:
        _checked[engine] = engine.dialect.name == "sqlite" and inspect(engine).has_table(
            SEARCH_TABLE
        )
    return _checked[engine]


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _either(word: str) -> str:
    """The word as names are keyed, or as emails are stored (they differ for "ß")."""
    key, lower = name_key(word), word.lower()
    return _phrase(key) if key == lower else f"({_phrase(key)} OR {_phrase(lower)})"


def conditions(q: str, max_words: int = 6) -> list:
    """WHERE terms for the users every word of q matches (name key or email contains it).

    Decided once per request (the probe is a query) and reusable in several statements.
    """
    words = q.split()[:max_words]
    terms = []
    indexed = [w for w in words if len(w) >= MIN_INDEXED]
    if indexed and _has_index():
        match = text(f"{SEARCH_TABLE} MATCH :search").bindparams(
            search=" AND ".join(_either(w) for w in indexed)
        )
        matches = select(_index.c.rowid).where(match)
        probe = select(func.count()).select_from(matches.limit(DENSE).subquery())
        if db.session.scalar(probe) < DENSE:
            terms.append(User.id.in_(matches))
            words = [w for w in words if len(w) < MIN_INDEXED]
    for word in words:
        terms.append(
            or_(
                User.name_key.contains(name_key(word), autoescape=True),
                User.email.contains(word.lower(), autoescape=True),
            )
        )
    return terms


def word_starts(q: str, max_words: int = 6):
    """True for a user every word of q matches at the start of a word of their last name,
    first name or email (whole words and prefixes: "garc" finds García), false for the
    others (matches inside a word: "arc"). Results show those first, each part in name
    order. None when q has no words."""
    words = q.split()[:max_words]
    if not words:
        return None
    # Read from the rows the search found, never from the trigram index (PostgreSQL chose
    # it for these patterns: 9 index scans, 40 ms for 'garcia' at 100,000 users).
    names, emails = func.coalesce(User.name_key, ""), func.coalesce(User.email, "")
    terms = []
    for word in words:
        key, lower = name_key(word), word.lower()
        starts = [names.startswith(key, autoescape=True)]
        starts += [names.contains(c + key, autoescape=True) for c in NAME_WORD_STARTS]
        starts.append(emails.startswith(lower, autoescape=True))
        starts += [emails.contains(c + lower, autoescape=True) for c in EMAIL_WORD_STARTS]
        terms.append(or_(*starts))
    return and_(*terms)
