from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms import (
    NewPasswordForm,
    at_most,
    coerce_id,
    name_fields,
    optional,
    valid_email,
)
from ..invites.forms import USER_TYPE_CHOICES, OrganizationChoiceForm


class PublicLinkForm(OrganizationChoiceForm):
    # The wizards' searchable picker (hidden id, typed name, radio choice), labelled so.
    organization_name = optional(_l("Organization"), at_most(200))
    user_type = SelectField(_l("User type"), choices=USER_TYPE_CHOICES, validate_choice=False)
    occupation = SelectField(
        _l("Occupation"),
        coerce=coerce_id,
        validators=[Optional()],
        validate_choice=False,
        description=_l("Mentors only."),
    )
    expires_on = DateField(
        _l("Expires on"),
        validators=[Optional()],
        description=_l("Optional. The last day people can sign up."),
    )
    max_signups = IntegerField(
        _l("Maximum sign-ups"),
        validators=[Optional()],
        description=_l("Optional. The link closes after this many accounts."),
    )
    allowed_domains = optional(
        _l("Allowed email domains"),
        at_most(1000),
        description=_l("Optional. For example acmerobotics.com; separate several with spaces."),
    )
    require_approval = BooleanField(_l("Require approval"))

    def fill(self, occupations):
        """The sponsor's occupations."""
        self.occupation.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(o.id, o.name) for o in occupations
        ]
        return self


class PublicSignUpForm(NewPasswordForm):
    first_name, last_name = name_fields("your")
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=1000), valid_email],
        description=_l("We email you a link to confirm it before your account is made."),
    )

    def password_hints(self) -> list[str]:
        return [self.email.data or "", self.first_name.data or "", self.last_name.data or ""]
