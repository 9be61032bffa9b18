"""What every form shares: input cleaned before any validator sees it, control characters
refused, a service's refusal shown beside its field, and the fields Scope asks for often."""

from __future__ import annotations

from flask_babel import LazyString, format_number, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from .auth.passwords import MIN_LENGTH, password_problem
from .emails import EmailRefused, normalize_email
from .refusals import Refused
from .tenancy import parse_id
from .text import clean_line, clean_text, has_control_characters


def no_control_characters(form, field) -> None:
    """Invisible characters are refused, not silently dropped: text that had them was mangled."""
    raw = (field.raw_data or [""])[0]
    if isinstance(raw, str) and has_control_characters(raw):
        raise ValidationError(gettext("Type this without hidden or control characters."))


class ScopeForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, StringField):
                options["validators"] = [
                    no_control_characters,
                    *unbound_field.kwargs.get("validators", ()),
                ]
                # Passwords are kept exactly as typed: login compares them raw.
                if not issubclass(unbound_field.field_class, PasswordField):
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


# Fields ---------------------------------------------------------------------------------


def at_most(length: int) -> Length:
    return Length(max=length, message=LazyString(use_at_most, length))


def use_at_most(length: int) -> str:
    """ "Use at most 2,000 characters.", the number written as the reader writes numbers."""
    return gettext("Use at most %(length)s characters.", length=format_number(length))


def required(label: str, missing: str, length: int, field=StringField, **kwargs):
    """A field that must be filled in, with the message saying what to enter."""
    return field(label, validators=[DataRequired(missing), at_most(length)], **kwargs)


def optional(label: str, *validators, field=StringField, **kwargs):
    """A field that may stay blank (None); anything typed must pass the validators."""
    filters = [empty_to_none, *kwargs.pop("filters", ())]
    return field(label, validators=[Optional(), *validators], filters=filters, **kwargs)


_NAME_MISSING = {
    "your": (_l("Enter your first name."), _l("Enter your last name.")),
    "the": (_l("Enter the first name."), _l("Enter the last name.")),
}


def name_fields(whose: str):
    """First and last name: `whose` is "your" on a person's own forms, "the" on staff forms."""
    first_missing, last_missing = _NAME_MISSING[whose]
    return (
        required(_l("First name"), first_missing, 100),
        required(_l("Last name"), last_missing, 100),
    )


def valid_email(form, field) -> None:
    """A form's email field follows the one rule for addresses (scope.emails)."""
    if field.data:
        try:
            normalize_email(field.data)
        except EmailRefused as refused:
            raise ValidationError(refused.message) from None


def coerce_id(value):
    """A chosen record's id: None when blank; 0 (no record has it) when it cannot be an id,
    so the service that looks it up refuses it with its own message."""
    if value in (None, ""):
        return None
    return parse_id(value if isinstance(value, int) else str(value).strip()) or 0


def empty_to_none(value):
    return value or None


class NewPasswordForm(ScopeForm):
    """A new password typed twice. The policy is checked beside the field, with the person's
    own name and address as what a guesser would try first, even when the two differ."""

    # The policy (password_problem) also bounds the length.
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Choose a password."))],
        description=_l(
            "At least %(count)s characters. A few unrelated words make a strong password.",
            count=MIN_LENGTH,
        ),
    )
    confirm_password = PasswordField(
        _l("Confirm password"),
        validators=[
            DataRequired(_l("Type the password again.")),
            EqualTo(
                "password",
                message=_l("The passwords do not match. Type the same password twice."),
            ),
        ],
    )

    def password_hints(self) -> list[str]:
        return []

    def validate_password(self, field) -> None:
        problem = password_problem(field.data or "", hints=self.password_hints())
        if problem:
            raise ValidationError(problem)
