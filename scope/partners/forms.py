from wtforms import EmailField, TextAreaField
from wtforms.validators import URL, Regexp

from ..forms import ScopeForm, at_most, optional, required, valid_email

_PHONE = Regexp(
    r"^[0-9+().\- ]{7,30}$", message="Enter a phone number, for example (555) 123-4567."
)


def _upper(value):
    return value.upper() if value else value


class OrganizationForm(ScopeForm):
    name = required("Name", "Enter the organization's name.", 200)
    dba_name = optional("DBA name", at_most(200))
    ein = optional(
        "EIN",
        Regexp(r"^\d{2}-?\d{7}$", message="An EIN has 9 digits, for example 12-3456789."),
    )
    street = optional("Street address", at_most(200))
    city = optional("City", at_most(100))
    state = optional(
        "State",
        Regexp(r"^[A-Za-z]{2}$", message="Use the two-letter state code, for example OH."),
        filters=[_upper],
    )
    zip_code = optional(
        "ZIP code", Regexp(r"^\d{5}(-\d{4})?$", message="Enter a 5-digit ZIP code (or ZIP+4).")
    )
    phone = optional("Phone", _PHONE)
    website = optional(
        "Website",
        at_most(300),
        URL(message="Enter a full web address, for example https://example.org."),
    )
    contact_name = optional("Primary contact name", at_most(200))
    contact_email = optional("Primary contact email", at_most(254), valid_email, field=EmailField)
    contact_phone = optional("Primary contact phone", _PHONE)
    notes = optional("Notes", at_most(5000), field=TextAreaField)


class EmployerForm(OrganizationForm):
    naics_code = optional(
        "NAICS code",
        Regexp(r"^\d{2,6}$", message="A NAICS code has 2 to 6 digits, for example 238210."),
    )


class OccupationForm(ScopeForm):
    name = required("Name", "Enter the occupation's name.", 200)
    rapids_code = optional(
        "RAPIDS code",
        Regexp(r"^[0-9A-Za-z]{3,10}$", message="Use 3 to 10 letters or digits, e.g. 0159."),
    )
    onet_code = optional(
        "O*NET-SOC code",
        Regexp(r"^\d{2}-\d{4}(\.\d{2})?$", message="Use the form 47-2111.00."),
    )
