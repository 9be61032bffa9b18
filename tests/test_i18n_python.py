"""Languages, Python side: every message a Python module shows people goes through a
translation call (what readers then get is in test_i18n_messages.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import wtforms
from flask_wtf import file as wtf_file

from scope.refusals import Refused

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scope"

TRANSLATION_CALLS = {
    "_",
    "_l",
    "gettext",
    "lazy_gettext",
    "ngettext",
    "lazy_ngettext",
    "N_",
}


def _subclasses(cls) -> set[str]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub.__name__, *_subclasses(sub)}
    return found


def _refusal_names() -> set[str]:
    """Every refusal class, found from the base, so a new one is checked the day it exists."""
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        __import__(module)
    return {"Refused", *_subclasses(Refused)}


# Where a call shows text: argument positions and keywords.
_FIELD_CLASSES = {
    name for module in (wtforms.fields, wtf_file) for name in dir(module) if name.endswith("Field")
}
# A validator's message: its position among the arguments (the others are not text).
_VALIDATORS = {
    "DataRequired": 0,
    "InputRequired": 0,
    "FileRequired": 0,
    "Email": 0,
    "FileAllowed": 1,
    "EqualTo": 1,
    "AnyOf": 1,
    "NoneOf": 1,
    "Length": 2,
    "NumberRange": 2,
    "Regexp": 2,
}
# Scope's own helpers that show what they are given.
_HELPERS = {
    "flash": ({0}, {"message"}),
    "ValidationError": ({0}, {"message"}),
    "fragment_or_redirect": ({2}, {"message"}),
    "required": ({0, 1}, {"label"}),
    "optional": ({0}, {"label"}),
    "queue_mail": ({2}, {"subject"}),
    "notify": ({3}, {"params"}),
    "refuse": ({0}, {"message"}),
    "_action": ({2}, {"done"}),
    "_lifecycle": ({2}, {"done"}),
    "_change": ({2}, {"done"}),
    "_decide": ({2}, {"done"}),
    "message": ({0}, {"done_text"}),
    "SelectChoice": ({1}, {"label"}),
}
_FIELD_KEYWORDS = {"label", "description", "choices"}

# Tables of words read on pages: every entry is text (or a key beside it).
LABEL_TABLES = {
    "scope/manage/profile.py": {"_PHRASES", "_FIELD_LABELS"},
    "scope/mail/services.py": {"KINDS"},
    "scope/manage/users.py": {"CSV_COLUMNS"},
    "scope/manage/invitations.py": {"STATUSES", "CSV_COLUMNS"},
    "scope/notices/messages.py": {"_MESSAGES"},
    "scope/partners/services.py": {"_DUPLICATE"},
    "scope/models/people.py": {"_USER_TYPE_LABELS", "_USER_STATUS_LABELS", "_KIND_WORDS"},
    "scope/models/records.py": {"_MAIL_STATE_LABELS"},
    "scope/models/public_links.py": {"_SIGNUP_STATE_LABELS"},
}

# Anywhere else, a sentence ("Capital words, spaced.") outside a translation call is English
# left behind, except what is for operators and files, not for people on pages and emails:
OPERATOR_MODULES = {
    "scope/cli.py",  # command-line help and output
    "scope/config.py",  # deployment errors, at start
    "scope/demo.py",  # demo records, in the database as data
    "scope/sponsors.py",  # a new sponsor's first occupations: data
}
OPERATOR_CALLS = {
    "echo",  # command-line output (the mail worker)
    "ConfigurationError",
    "ValueError",
    "RuntimeError",
    # An SMTP server's answer, kept as the delivery's technical detail.
    "Outcome",
}
_LOGGING = {"debug", "info", "warning", "error", "exception", "critical"}
# The CSV import's column names are the file's format, the same in every language.
FORMAT_WORDS = {"scope/invites/csv_rows.py": {"User type", "First name", "Last name"}}
# Words that are the same in every language: the product's name.
ALLOWED = {"Scope"}

_SENTENCE = re.compile(r"^[A-Z][a-z']*\b.* ")
_PHRASE = re.compile(r"[a-z]{2,} [a-z]{2,}")

_WORDS = re.compile(r"[^\W\d_]{2,}")


def _is_text(value: str) -> bool:
    """Words a person reads: a space between words, or a capitalized word."""
    value = value.strip()
    if value in ALLOWED or not _WORDS.search(value):
        return False
    return " " in value or value[:1].isupper()


def _strings(node: ast.AST):
    """The string literals an expression shows as they are (not through another call)."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            yield node
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant):
                yield part
            elif isinstance(part, ast.FormattedValue):
                yield from _strings(part.value)
    elif isinstance(node, ast.BinOp):
        yield from _strings(node.left)
        yield from _strings(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _strings(value)
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for element in node.elts:
            yield from _strings(element)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _strings(value)
    elif isinstance(node, ast.Call):
        name = _name(node.func)
        if name in TRANSLATION_CALLS:
            return
        # "…{}".format(x) and ", ".join([...]) show their literal.
        if isinstance(node.func, ast.Attribute):
            yield from _strings(node.func.value)
        for arg in node.args:
            if isinstance(arg, (ast.JoinedStr, ast.List, ast.Tuple)):
                yield from _strings(arg)


def _name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _shown_arguments(call: ast.Call, refusals: set[str]):
    name = _name(call.func)
    if name in TRANSLATION_CALLS or name is None:
        return
    positions: set[int] = set()
    keywords: set[str] = set()
    if name in refusals:
        positions, keywords = {0}, {"message"}
    elif name in _FIELD_CLASSES:
        positions, keywords = {0}, set(_FIELD_KEYWORDS)
    elif name in _VALIDATORS:
        positions, keywords = {_VALIDATORS[name]}, {"message"}
    elif name in _HELPERS:
        positions, keywords = _HELPERS[name]
    if name in {"required", "optional"}:
        keywords = keywords | _FIELD_KEYWORDS
    for index, arg in enumerate(call.args):
        if index in positions:
            yield arg
    for keyword in call.keywords:
        if keyword.arg in keywords:
            yield keyword.value


def untranslated_strings(source: str, refusals: set[str], tables: set[str] = frozenset()):
    """(line, text) of each string a person would read that no translation call covers."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        shown = []
        if isinstance(node, ast.Call):
            shown = list(_shown_arguments(node, refusals))
        elif isinstance(node, ast.ClassDef) and (
            node.name in refusals or {_name(base) for base in node.bases} & refusals
        ):
            # A refusal's usual message, given as a class attribute.
            for statement in node.body:
                targets = getattr(statement, "targets", None) or [
                    getattr(statement, "target", None)
                ]
                if any(getattr(t, "id", None) == "message" for t in targets):
                    shown.append(statement.value)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(t, "id", None) in tables for t in targets):
                shown.append(node.value)
        for expression in shown:
            if expression is None:
                continue
            for literal in _strings(expression):
                if _is_text(literal.value):
                    found.append((literal.lineno, literal.value))
    return found


def _sentence(node: ast.AST) -> str | None:
    """The text of a literal that reads as a sentence: "Capital words, spaced", or an
    f-string whose words end like one ("{name} saved.")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        value = node.value.strip()
        return value if _SENTENCE.match(value) and value not in ALLOWED else None
    if isinstance(node, ast.JoinedStr):
        words = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        if _PHRASE.search(words) and words.rstrip().endswith((".", "!", "?")):
            return words.strip()
    return None


def stray_sentences(source: str, allowed: set[str] = frozenset()):
    """(line, text) of each sentence-like literal outside translation and operator calls."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        value = _sentence(node)
        if value is None or value in allowed:
            continue
        up = parents.get(node)
        if isinstance(up, (ast.Expr, ast.JoinedStr)):
            continue  # a docstring, or a part of an f-string judged as a whole
        excused = False
        while up is not None and not excused:
            if isinstance(up, ast.Call):
                excused = _name(up.func) in TRANSLATION_CALLS | OPERATOR_CALLS | _LOGGING
            up = parents.get(up)
        if not excused:
            found.append((node.lineno, value))
    return found


@pytest.fixture(scope="module")
def refusals() -> set[str]:
    return _refusal_names()


MODULES = sorted(str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_a_python_module_shows_no_english_outside_translation_calls(module, refusals):
    source = (ROOT / module).read_text("utf-8")
    assert untranslated_strings(source, refusals, LABEL_TABLES.get(module, set())) == []


@pytest.mark.parametrize("module", [m for m in MODULES if m not in OPERATOR_MODULES])
def test_a_python_module_keeps_no_sentence_outside_translation_calls(module):
    source = (ROOT / module).read_text("utf-8")
    assert stray_sentences(source, FORMAT_WORDS.get(module, set())) == []


def test_the_python_check_finds_english_left_behind(refusals):
    planted = """
class WeirdRefused(Refused):
    message = "Nothing to see."

def route(name, count):
    raise RowRefused(f"{name} is already in the list.", "email")
    flash(_("Saved."))
    fragment_or_redirect("/x", None, "Saved " + name)
    TooManySelected(gettext("Select at most %(n)s.", n=count))
    StringField("Email", validators=[DataRequired("Enter it."), Length(max=5, message="Shorter")])
    SelectField(_l("Kind"), choices=[("a", "Apple"), ("b", _l("Banana"))])
    raise ValidationError("Nope" if count else _("Fine"))
    queue_mail("kind", "to@example.org", subject=f"Hello {name}")
    EqualTo("password", message=_l("Same twice."))
    Refused(message, field="email")
KIND_LABELS = {"invitation": "Invitation", "other": N_("Other"), "key": "snake_case"}
"""
    found = untranslated_strings(planted, refusals, {"KIND_LABELS"})
    assert sorted(text for _, text in found) == sorted(
        [
            "Nothing to see.",
            " is already in the list.",
            "Saved ",
            "Email",
            "Enter it.",
            "Shorter",
            "Apple",
            "Nope",
            "Hello ",
            "Invitation",
        ]
    )
    # Sentences kept aside to be shown later are found wherever they are.
    kept = """
EMPTY = "No results found."
log.warning("Mail server down: %s", error)
def summary():
    return _("Nothing yet.") if x else "Nothing here yet"
message = f"{name} was saved." if changed else _("Nothing changed.")
click.echo(f"Delivering {count} messages now.")
"""
    assert sorted(text for _, text in stray_sentences(kept)) == [
        "No results found.",
        "Nothing here yet",
        "was saved.",
    ]
