from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, TextAreaField

from ..forms import ScopeForm, at_most, coerce_id, name_fields, optional
from ..models import PARTNER_USER_TYPES


class ProfileForm(ScopeForm):
    first_name, last_name = name_fields("the")
    # Judged by the service, which also knows who else has the address.
    email = optional(_l("Email"), at_most(254))
    user_type = SelectField(
        _l("User type"),
        choices=[SelectChoice(t.value, t.lazy_label) for t in PARTNER_USER_TYPES],
        validate_choice=True,
    )
    # Membership of the sponsor's organizations and occupations is a service rule.
    organization = SelectField(_l("Organization"), coerce=coerce_id, validate_choice=False)
    occupation = SelectField(_l("Occupation"), coerce=coerce_id, validate_choice=False)

    def for_user(self, user, organizations: dict, occupations: list):
        """Fit the form to the person: a staff member's type and organization are not edited."""
        if user.is_staff:
            del self.user_type
            del self.organization
            del self.occupation
            return self
        self.organization.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(org.id, org.name, optgroup=group)
            for group, orgs in organizations.items()
            for org in orgs
        ]
        self.occupation.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(occupation.id, occupation.name) for occupation in occupations
        ]
        return self


class BulkConvertForm(ScopeForm):
    custom_message = optional(
        _l("Custom message"),
        at_most(2000),
        field=TextAreaField,
        description=_l("Optional. Added to the email above the link."),
    )
