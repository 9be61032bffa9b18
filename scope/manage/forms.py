from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import ScopeForm, empty_to_none
from ..models import PARTNER_USER_TYPES
from ..tenancy import parse_id


def _id_or_none(value):
    """A submitted id; blank is None and anything else that is not a number is 0 (no match)."""
    if value in (None, ""):
        return None
    return parse_id(value if isinstance(value, int) else str(value).strip()) or 0


class ProfileForm(ScopeForm):
    first_name = StringField(
        "First name",
        validators=[
            DataRequired("Enter the first name."),
            Length(max=100, message="Use at most 100 characters."),
        ],
    )
    last_name = StringField(
        "Last name",
        validators=[
            DataRequired("Enter the last name."),
            Length(max=100, message="Use at most 100 characters."),
        ],
    )
    email = StringField(
        "Email",
        validators=[Optional(), Length(max=254, message="Use at most 254 characters.")],
        filters=[empty_to_none],
    )
    user_type = SelectField(
        "User type",
        choices=[SelectChoice(t.value, t.label) for t in PARTNER_USER_TYPES],
        validate_choice=True,
    )
    # Membership of the sponsor's organizations and occupations is a service rule.
    organization = SelectField("Organization", coerce=_id_or_none, validate_choice=False)
    occupation = SelectField("Occupation", coerce=_id_or_none, validate_choice=False)

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
    custom_message = TextAreaField(
        "Custom message",
        description="Optional. Added to the email above the link.",
        validators=[Optional(), Length(max=2000, message="Use at most 2,000 characters.")],
        filters=[empty_to_none],
    )
