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

from sqlalchemy import (
    String,
    and_,
    bindparam,
    column,
    func,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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
            or_(User.name_key.contains(name_key(word), autoescape=True), _in_email(word.lower()))
        )
    return terms


def _unindexed(column):
    """The column as an expression no index answers: a pattern on it is checked on the rows
    found. The empty string is written in the statement, not sent as a parameter."""
    return func.coalesce(column, literal_column("''"))


class _Pattern(FunctionElement):
    """A LIKE pattern sent as a parameter. SQLite prepares a statement again each time a
    parameter that is a LIKE pattern by itself is bound (it might let an index answer the
    LIKE): there the pattern is written `(? || '')`, which it leaves alone."""

    type = String()
    inherit_cache = True


@compiles(_Pattern)
def _pattern(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(_Pattern, "sqlite")
def _pattern_on_sqlite(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} || '')"


def _like(expression, word: str, *, starts: bool = False):
    """expression starts with (or contains) word, its % and _ taken literally: what
    startswith()/contains() with autoescape do, with the pattern built here and sent as one
    parameter instead of joined in SQL (a search statement repeats it about ten times a
    word)."""
    escaped = word.replace("/", "//").replace("%", "/%").replace("_", "/_")
    pattern = ("" if starts else "%") + escaped + "%"
    return expression.like(_Pattern(bindparam(None, pattern, String)), escape="/")


def _in_email(word: str):
    """Email contains the word. For a word with an @ (a whole address, typed or pasted), the
    trigram index is asked for the part up to the @ only, and the rows it finds are checked
    for the whole word: the domain is shared by most addresses, and its trigrams made the
    index read every address (75 ms for one address at a million users)."""
    local, at, _ = word.partition("@")
    if not at or len(local) < MIN_INDEXED:
        return User.email.contains(word, autoescape=True)
    # coalesce(): checked on the rows found, never asked of the index.
    whole = _like(_unindexed(User.email), word)
    return and_(User.email.contains(local + "@", autoescape=True), whole)


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
    names, emails = _unindexed(User.name_key), _unindexed(User.email)
    terms = []
    for word in words:
        key, lower = name_key(word), word.lower()
        starts = [_like(names, key, starts=True)]
        starts += [_like(names, c + key) for c in NAME_WORD_STARTS]
        starts.append(_like(emails, lower, starts=True))
        starts += [_like(emails, c + lower) for c in EMAIL_WORD_STARTS]
        terms.append(or_(*starts))
    return and_(*terms)


def name_starts(q: str, whole: bool = False):
    """True for a user whose name key starts with the search's first word: as names sort by
    last name, people of that last name. The best of the best matches, shown first, and read
    as one range of the name index (the index of every name key that starts with the word),
    where a word-start match elsewhere can only be found by reading every match. With
    `whole`, the name key starts with the whole search ("garcia ma": Garcia, Maria), the
    best of those. None when q has no words."""
    words = q.split()
    key = name_key(" ".join(words) if whole else words[0]) if words else ""
    if not key:
        return None
    # startswith on coalesce(): PostgreSQL reads it from the rows, not the trigram index.
    names = _unindexed(User.name_key)
    terms = [User.name_key >= key, _like(names, key, starts=True)]
    following = _next_character(key[-1])
    if following is not None:
        # The range lets the index read these rows alone; startswith keeps the rule exact
        # whatever the collation orders.
        terms.append(User.name_key < key[:-1] + following)
    return and_(*terms)


def _next_character(character: str) -> str | None:
    """The character after this one in code point order, as text can hold it: surrogates
    (U+D800–U+DFFF) are no characters, so U+D7FF is followed by U+E000. None after the last."""
    point = ord(character) + 1
    if 0xD800 <= point <= 0xDFFF:
        point = 0xE000
    return chr(point) if point <= 0x10FFFF else None
