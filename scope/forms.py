"""Form base shared by every feature: input is cleaned before any validator sees it."""

from __future__ import annotations

import re
import unicodedata

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def empty_to_none(value):
    return value or None
