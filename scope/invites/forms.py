from flask_babel import gettext
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, SelectChoice, SelectField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from .. import i18n
from ..forms import NewPasswordForm, ScopeForm, at_most, coerce_id, name_fields, optional
from ..models import PARTNER_USER_TYPES, OrganizationKind

USER_TYPE_CHOICES = [SelectChoice("", "Choose…")] + [
    SelectChoice(t.value, t.label) for t in PARTNER_USER_TYPES
]


class OrganizationChoiceForm(ScopeForm):
    organization = SelectField(
        "Employer",
        coerce=coerce_id,
        validators=[DataRequired("Choose the organization the people work at.")],
        validate_choice=False,
    )

    def fill(self, organizations):
        """Employers and providers as option groups (the template draws them)."""
        self.groups = {kind.plural: [] for kind in OrganizationKind}
        for org in organizations:
            self.groups[org.kind.plural].append((org.id, org.name))
        return self


MESSAGE_LENGTH = 1000


def known_language(form, field) -> None:
    if field.data and i18n.check(field.data) is None:
        raise ValidationError(gettext("Choose a language from the list."))


class _InvitationBatch(ScopeForm):
    """What goes with a batch of invitations: a list pasted at once, a personal message."""

    addresses = optional(
        "Addresses",
        at_most(100_000),
        field=TextAreaField,
        description="One address a line, or separated by commas; “Name <address>” is fine.",
    )
    message = optional(
        "Personal message (optional)",
        at_most(MESSAGE_LENGTH),
        field=TextAreaField,
        description="Shown in the invitation email and on the sign-up page. Plain text.",
    )
    # What is chosen is checked by drafts.set_language (scope.i18n.check).
    language = SelectField(
        "Language",
        choices=[
            SelectChoice(code, name, render_kw={"lang": code})
            for code, name in i18n.LANGUAGES.items()
        ],
        validators=[known_language],
        validate_choice=False,
        description="The invitation email and the sign-up page are written in it.",
    )


class TeammateRowForm(_InvitationBatch):
    email = EmailField("Email", validators=[Length(max=1000)])


class ExternalRowForm(_InvitationBatch):
    user_type = SelectField("User type", choices=USER_TYPE_CHOICES, validate_choice=False)
    email = EmailField("Email", validators=[Length(max=1000)])
    occupation = SelectField(
        "Occupation", coerce=coerce_id, validators=[Optional()], validate_choice=False
    )

    def fill(self, occupations):
        self.occupation.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(o.id, o.name) for o in occupations
        ]
        return self


class SignUpForm(NewPasswordForm):
    first_name, last_name = name_fields("your")

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._email = email

    def password_hints(self) -> list[str]:
        return [self._email, self.first_name.data or "", self.last_name.data or ""]


class ManagedRowForm(ExternalRowForm):
    # Managed users get no email: no message; many at once come from a CSV file.
    addresses = None
    message = None
    language = None
    first_name, last_name = name_fields("the")
    email = EmailField(
        "Email",
        validators=[Length(max=1000)],
        description="Optional; needed to authenticate later.",
    )


class CsvUploadForm(ScopeForm):
    csv_file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])
