from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Length, Optional

from .. import i18n
from ..forms import NewPasswordForm, ScopeForm, at_most, coerce_id, name_fields, optional
from ..models import PARTNER_USER_TYPES
from .rows import ADDRESSES_LENGTH

USER_TYPE_CHOICES = [SelectChoice("", _l("Choose…"))] + [
    SelectChoice(t.value, t.lazy_label) for t in PARTNER_USER_TYPES
]


class OrganizationChoiceForm(ScopeForm):
    """The wizards' organization: employers and providers, found by typing (partners.picker).

    The combobox sets the hidden id; without it, the typed name is the search, and a radio
    among the candidates it found is the choice."""

    organization = HiddenField()
    organization_name = optional(_l("Employer"), at_most(200))
    organization_choice = HiddenField()

    @property
    def picker_errors(self) -> list:
        return [
            *self.organization.errors,
            *self.organization_name.errors,
            *self.organization_choice.errors,
        ]


MESSAGE_LENGTH = 1000


def known_language(form, field) -> None:
    if field.data and i18n.check(field.data) is None:
        raise ValidationError(gettext("Choose a language from the list."))


class _InvitationBatch(ScopeForm):
    """What goes with a batch of invitations: a list pasted at once, a personal message."""

    addresses = optional(
        _l("Addresses"),
        at_most(ADDRESSES_LENGTH),
        field=TextAreaField,
        description=_l("One address a line, or separated by commas; “Name <address>” is fine."),
    )
    message = optional(
        _l("Personal message (optional)"),
        at_most(MESSAGE_LENGTH),
        field=TextAreaField,
        description=_l("Shown in the invitation email and on the sign-up page. Plain text."),
    )
    # What is chosen is checked by drafts.set_language (scope.i18n.check).
    language = SelectField(
        _l("Language"),
        choices=[
            SelectChoice(code, name, render_kw={"lang": code})
            for code, name in i18n.LANGUAGES.items()
        ],
        validators=[known_language],
        validate_choice=False,
        description=_l("The invitation email and the sign-up page are written in it."),
    )


class TeammateRowForm(_InvitationBatch):
    email = EmailField(_l("Email"), validators=[Length(max=1000)])


class ExternalRowForm(_InvitationBatch):
    user_type = SelectField(_l("User type"), choices=USER_TYPE_CHOICES, validate_choice=False)
    email = EmailField(_l("Email"), validators=[Length(max=1000)])
    occupation = SelectField(
        _l("Occupation"), coerce=coerce_id, validators=[Optional()], validate_choice=False
    )

    def fill(self, occupations):
        self.occupation.choices = [SelectChoice("", _l("Choose…"))] + [
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
        _l("Email"),
        validators=[Length(max=1000)],
        description=_l("Optional; needed to authenticate later."),
    )


class CsvUploadForm(ScopeForm):
    csv_file = FileField(
        _l("CSV file"), validators=[FileRequired(_l("Choose a CSV file to upload."))]
    )
