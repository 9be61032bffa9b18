"""The one base of every refusal a rule of the product gives: a message, and its field.

Services raise these; routes roll back and show them (forms: ScopeForm.refuse), so a
refusal reads the same wherever the rule is met.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask_babel import lazy_gettext as _l


class Refused(Exception):
    """A rule said no. `message` is for the person; `field` is the form field it concerns.

    A subclass may give its usual message and field as class attributes.
    """

    message: str = _l("This cannot be done now.")
    field: str | None = None
    # The HTTP status a refusal outside a form answers with: the action conflicts with the
    # state of things (409), unless a subclass knows better (429: too many).
    status: int = 409

    def __init__(self, message: str | None = None, field: str | None = None):
        # Read now, in the language of the request that meets the rule: a subclass's message
        # is a lazy translation, and a refusal may be flashed or kept as text.
        self.message = str(message if message is not None else self.message)
        if field is not None:
            self.field = field
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def each(self) -> Iterator[Refused]:
        yield self


class AllRefused(Refused):
    """Several refusals at once: every field of a form that breaks a rule."""

    def __init__(self, refusals: Iterable[Refused]):
        self.refusals = list(refusals)
        super().__init__(" ".join(r.message for r in self.refusals))

    def each(self) -> Iterator[Refused]:
        yield from self.refusals
