"""Form base shared by every feature: input is cleaned before any validator sees it, and a
service's refusal lands beside the field it concerns."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField

from .refusals import Refused
from .text import clean_line, clean_text


class ScopeForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            # Passwords are kept exactly as typed: login compares them raw.
            if issubclass(unbound_field.field_class, StringField) and not issubclass(
                unbound_field.field_class, PasswordField
            ):
                cleaner = (
                    clean_text
                    if issubclass(unbound_field.field_class, TextAreaField)
                    else clean_line
                )
                options["filters"] = [cleaner, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, **options)

    def refuse(self, refused: Refused) -> None:
        """Show a service's refusal: each message beside its field, or above the form."""
        for refusal in refused.each():
            field = self._fields.get(refusal.field or "")
            if field is None:
                self.form_errors.append(refusal)
            else:
                field.errors = [*field.errors, refusal]

    @property
    def status(self) -> int:
        """422 when the form has something to correct: htmx swaps it in all the same."""
        return 422 if self.errors else 200


def empty_to_none(value):
    return value or None
