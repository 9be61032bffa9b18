from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectChoice, SelectField
from wtforms.validators import DataRequired

from .. import i18n, zones
from ..forms import NewPasswordForm, ScopeForm, at_most, name_fields, valid_email
from ..partners.forms import EmployerForm, OrganizationForm
from ..settings.forms import time_zone_field, zone_choices
from .services import password_hints


class ForgotPasswordForm(ScopeForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email.")), at_most(254), valid_email]
    )


class _AccountPasswordForm(NewPasswordForm):
    """A new password for an account that exists: its own name and address are the hints."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def password_hints(self) -> list[str]:
        return password_hints(self.user) if self.user is not None else []


class SetPasswordForm(_AccountPasswordForm):
    pass


class ChangePasswordForm(_AccountPasswordForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a new password."))],
        description=NewPasswordForm.password.kwargs["description"],
    )


class NameForm(ScopeForm):
    first_name, last_name = name_fields("your")


class OwnTimeZoneForm(ScopeForm):
    """A person's own zone; blank follows their sponsor's."""

    time_zone = time_zone_field()

    def __init__(self, *args, sponsor_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices(
            _l("Your sponsor's: %(zone)s", zone=zones.label(sponsor_zone))
        )


class OwnLanguageForm(ScopeForm):
    """A person's own language; blank follows their invitation's, else their browser's."""

    # What is chosen is checked by i18n.check, the one rule for it.
    language = SelectField(_l("Language"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [
            SelectChoice("", _l("Not chosen (your invitation's or your browser's)")),
            *(
                SelectChoice(code, name, render_kw={"lang": code})
                for code, name in i18n.LANGUAGES.items()
            ),
        ]


class PartnerOrganizationForm(OrganizationForm):
    """What a partner's administrator may edit: the profile without the sponsor's notes, and
    without the name, which staff keep unique among the sponsor's partners (a rename
    refused as a duplicate would tell one partner of another)."""

    name = None
    notes = None


class PartnerEmployerForm(EmployerForm):
    name = None
    notes = None
