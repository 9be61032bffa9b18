from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Email, Length, Optional, Regexp

from ..forms import ScopeForm, empty_to_none

_PHONE = Regexp(
    r"^[0-9+().\- ]{7,30}$", message="Enter a phone number, for example (555) 123-4567."
)


class OrganizationForm(ScopeForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the organization's name."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )
    dba_name = StringField(
        "DBA name", validators=[Optional(), Length(max=200)], filters=[empty_to_none]
    )
    ein = StringField(
        "EIN",
        validators=[
            Optional(),
            Regexp(r"^\d{2}-?\d{7}$", message="An EIN has 9 digits, for example 12-3456789."),
        ],
        filters=[empty_to_none],
    )
    street = StringField(
        "Street address", validators=[Optional(), Length(max=200)], filters=[empty_to_none]
    )
    city = StringField("City", validators=[Optional(), Length(max=100)], filters=[empty_to_none])
    state = StringField(
        "State",
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z]{2}$", message="Use the two-letter state code, for example OH."),
        ],
        filters=[empty_to_none, lambda v: v.upper() if v else v],
    )
    zip_code = StringField(
        "ZIP code",
        validators=[
            Optional(),
            Regexp(r"^\d{5}(-\d{4})?$", message="Enter a 5-digit ZIP code (or ZIP+4)."),
        ],
        filters=[empty_to_none],
    )
    phone = StringField("Phone", validators=[Optional(), _PHONE], filters=[empty_to_none])
    website = StringField(
        "Website",
        validators=[
            Optional(),
            Length(max=300),
            URL(message="Enter a full web address, for example https://example.org."),
        ],
        filters=[empty_to_none],
    )
    contact_name = StringField(
        "Primary contact name", validators=[Optional(), Length(max=200)], filters=[empty_to_none]
    )
    contact_email = EmailField(
        "Primary contact email",
        validators=[
            Optional(),
            Length(max=254),
            Email(message="Enter an email address like name@example.org."),
        ],
        filters=[empty_to_none],
    )
    contact_phone = StringField(
        "Primary contact phone", validators=[Optional(), _PHONE], filters=[empty_to_none]
    )
    notes = TextAreaField(
        "Notes",
        validators=[Optional(), Length(max=5000, message="Use at most 5,000 characters.")],
        filters=[empty_to_none],
    )


class EmployerForm(OrganizationForm):
    naics_code = StringField(
        "NAICS code",
        validators=[
            Optional(),
            Regexp(r"^\d{2,6}$", message="A NAICS code has 2 to 6 digits, for example 238210."),
        ],
        filters=[empty_to_none],
    )


class OccupationForm(ScopeForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the occupation's name."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )
    rapids_code = StringField(
        "RAPIDS code",
        validators=[
            Optional(),
            Regexp(r"^[0-9A-Za-z]{3,10}$", message="Use 3 to 10 letters or digits, e.g. 0159."),
        ],
        filters=[empty_to_none],
    )
    onet_code = StringField(
        "O*NET-SOC code",
        validators=[
            Optional(),
            Regexp(r"^\d{2}-\d{4}(\.\d{2})?$", message="Use the form 47-2111.00."),
        ],
        filters=[empty_to_none],
    )
