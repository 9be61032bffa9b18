"""Languages: which one a page or an email is in, and the catalogs that translate it.

A page follows the person's own choice (My account; a language picked with the switch
becomes it when they log in or sign up), else, logged out, the Language switch of this
browser, else the invitation's language (the sign-up page, and a partner user who signed up
from one; a public-link sign-up keeps the language of the page it was made on), else the
browser's Accept-Language. An email follows its recipient: their choice, else the
invitation's (or sign-up's) language, else their sponsor's.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, LazyString, force_locale, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape
from sqlalchemy import func, select

from .extensions import db

log = logging.getLogger(__name__)

# Each language is named in itself, so a person finds their own whatever the page is in.
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
# The Language switch of a browser (login and sign-up pages): a preference, not a secret.
COOKIE = "scope_language"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def N_(message: str) -> str:
    """Marks a message for the catalog; it is translated where it is shown (gettext)."""
    return message


def check(code: str | None) -> str | None:
    """A language Scope speaks, or None."""
    return code if code in LANGUAGES else None


def current() -> str:
    """The language of what is being drawn now ("en" outside a request). Read where
    Flask-Babel keeps the locale it chose (force_locale included), as _translations does: a
    table asks it for every date and number."""
    try:
        locale = getattr(g.get("_flask_babel"), "babel_locale", None) or get_locale()
    except RuntimeError:  # no application context
        locale = None
    return locale.language if locale is not None else DEFAULT


def switched() -> str | None:
    """The language this browser picked with the Language switch."""
    return check(request.cookies.get(COOKIE)) if has_request_context() else None


def use_invitation_language(code: str | None) -> None:
    """The page being drawn is an invitation's (sign-up): its language ranks below a choice."""
    g.invitation_language = check(code)


def accepted_invitation_language(user) -> str | None:
    """The language of the invitation this partner user's account was created from, or of
    the public-link sign-up that made it, if any (staff follow their own choice, else their
    browser)."""
    from .models import Invitation, PublicSignup

    if user.is_staff:
        return None
    invitation = (
        select(Invitation.language)
        .where(Invitation.accepted_user_id == user.id)
        .order_by(Invitation.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    signup = (
        select(PublicSignup.language)
        .where(PublicSignup.user_id == user.id)
        .order_by(PublicSignup.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # One statement: it is read on every page of a partner user who chose no language.
    return check(db.session.scalar(select(func.coalesce(invitation, signup))))


def keep_switched_language(user) -> None:
    """Logging in or signing up after picking a language with the switch: that is the
    person's choice (My account shows it and can change it)."""
    if user.language is None and (chosen := switched()):
        user.language = chosen


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    user = current_user if getattr(current_user, "is_authenticated", False) else None
    if user is not None and check(user.language):
        return user.language
    # The switch is for pages before an account (log in, sign up, links); logging in turns
    # it into the person's choice (keep_switched_language).
    if user is None and (chosen := switched()):
        return chosen
    if chosen := check(g.get("invitation_language")):
        return chosen
    if user is not None and (chosen := accepted_invitation_language(user)):
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def recipient_language(user=None, invitation=None, sponsor=None) -> str:
    """The language an email to this person is written in."""
    if user is not None and check(user.language):
        return user.language
    if invitation is not None and check(invitation.language):
        return invitation.language
    if user is not None and (chosen := accepted_invitation_language(user)):
        return chosen
    sponsor = sponsor or (user.sponsor if user is not None else None)
    return check(getattr(sponsor, "language", None)) or DEFAULT


def writing_in(code: str | None):
    """Render what follows in this language (an email, at queue time)."""
    code = check(code) or DEFAULT
    if str(get_locale()) == code:
        # Already in it: forcing it again would look its catalog up again, 10 ms of a SEND
        # of 1,000 (each email is written in its language).
        return nullcontext()
    return force_locale(code)


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each messages.po whose messages.mo is missing or older (a clean clone, or a
    catalog just edited): the .mo files are built, never committed."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        # Workers starting together each write their own file; the rename is atomic.
        tmp = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
        try:
            with tmp.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            tmp.replace(mo_path)
        except OSError:
            log.warning("cannot write %s: run pybabel compile -d %s", mo_path, directory)
            continue
        written.append(mo_path)
    return written


def _translations():
    """Flask-Babel's translations for the current locale (force_locale included), kept on the
    context for the locale object Flask-Babel chose: the catalogs do not change while the
    process runs. Until it has chosen one, or if that place changes, Flask-Babel is asked."""
    try:
        babel_context = g.get("_flask_babel")
    except RuntimeError:  # no application context
        return get_translations()
    locale = getattr(babel_context, "babel_locale", None)
    if locale is None:
        return get_translations()
    kept = getattr(babel_context, "scope_translations", None)
    if kept is None or kept[0] is not locale:
        kept = babel_context.scope_translations = (locale, get_translations())
    return kept[1]


def gettext(message: str, **variables) -> str:
    """Flask-Babel's gettext, for words Python reads on every row of a table (a status, a
    type): the same translation, formatted the same way, found once per locale."""
    text = _translations().ugettext(message)
    return text % variables if variables else text


def translated(words: dict[str, str]) -> SimpleNamespace:
    """Each of these words (marked with N_) in the reader's language, for a table that
    repeats them on every row: `{% set w = translated(...) %}` words them once, and rows
    read them as attributes (`w.name`), which Jinja finds at once (a dict's key only after
    its attribute lookup fails)."""
    return SimpleNamespace(**{key: gettext(word) for key, word in words.items()})


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, message: str, **variables) -> str:
    """`_("…")` and `{% trans %}`: as Jinja's new-style gettext does it, formatted with its
    variables (always, so a literal % is written %%) and escaped on an HTML page."""
    text = _translations().ugettext(message)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_eval_context
def _template_ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, n: int, **variables
) -> str:
    variables.setdefault("num", n)
    text = _translations().ungettext(singular, plural, n)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def _lazy_text_as_html(self: LazyString) -> Markup:
    """A lazy translation is text, like any other: on an HTML page its < and & are escaped.
    Flask-Babel's LazyString says it is HTML already (its __html__ is the bare text), so a
    field's hint "“Name <address>” is fine." lost its example to an <address> element."""
    return escape(str(self))


def register(app: Flask) -> None:
    compile_catalogs()
    LazyString.__html__ = _lazy_text_as_html
    babel.init_app(
        app,
        default_locale=DEFAULT,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=select_locale,
    )
    # Templates translate a few hundred strings a page (labels repeated on every row for
    # phones). Scope's own callables find the translations once per locale, and take only
    # what they read (whether the page escapes HTML): Jinja's new-style wrappers take the
    # whole context, so each call inside a loop or a block copied it. {% trans %} is still
    # compiled new-style (variables passed to gettext, which formats them).
    app.jinja_env.newstyle_gettext = True
    app.jinja_env.globals.update(
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext
    )
    app.add_template_global(LANGUAGES, "languages")
    # Words a template defines once and translates where it draws them.
    app.add_template_global(N_, "N_")
    app.add_template_global(translated)
    app.add_template_global(current, "current_language")
