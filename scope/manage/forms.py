from wtforms import SelectChoice, SelectField, TextAreaField

from ..forms import ScopeForm, at_most, coerce_id, name_fields, optional
from ..models import PARTNER_USER_TYPES


class ProfileForm(ScopeForm):
    first_name, last_name = name_fields("the")
    # Judged by the service, which also knows who else has the address.
    email = optional("Email", at_most(254))
    user_type = SelectField(
        "User type",
        choices=[SelectChoice(t.value, t.label) for t in PARTNER_USER_TYPES],
        validate_choice=True,
    )
    # Membership of the sponsor's organizations and occupations is a service rule.
    organization = SelectField("Organization", coerce=coerce_id, validate_choice=False)
    occupation = SelectField("Occupation", coerce=coerce_id, validate_choice=False)

    def for_user(self, user, organizations: dict, occupations: list):
        """Fit the form to the person: a staff member's type and organization are not edited."""
        if user.is_staff:
            del self.user_type
            del self.organization
            del self.occupation
            return self
        self.organization.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(org.id, org.name, optgroup=group)
            for group, orgs in organizations.items()
            for org in orgs
        ]
        self.occupation.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(occupation.id, occupation.name) for occupation in occupations
        ]
        return self


class BulkConvertForm(ScopeForm):
    custom_message = optional(
        "Custom message",
        at_most(2000),
        field=TextAreaField,
        description="Optional. Added to the email above the link.",
    )
