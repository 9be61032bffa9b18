from flask_babel import lazy_gettext as _l
from wtforms import EmailField, TextAreaField
from wtforms.validators import URL, Regexp

from ..forms import ScopeForm, at_most, optional, required, valid_email

_PHONE = Regexp(
    r"^[0-9+().\- ]{7,30}$", message=_l("Enter a phone number, for example (555) 123-4567.")
)


def _upper(value):
    return value.upper() if value else value


class OrganizationForm(ScopeForm):
    name = required(_l("Name"), _l("Enter the organization's name."), 200)
    dba_name = optional(_l("DBA name"), at_most(200))
    ein = optional(
        _l("EIN"),
        Regexp(r"^\d{2}-?\d{7}$", message=_l("An EIN has 9 digits, for example 12-3456789.")),
    )
    street = optional(_l("Street address"), at_most(200))
    city = optional(_l("City"), at_most(100))
    state = optional(
        _l("State"),
        Regexp(r"^[A-Za-z]{2}$", message=_l("Use the two-letter state code, for example OH.")),
        filters=[_upper],
    )
    zip_code = optional(
        _l("ZIP code"),
        Regexp(r"^\d{5}(-\d{4})?$", message=_l("Enter a 5-digit ZIP code (or ZIP+4).")),
    )
    phone = optional(_l("Phone"), _PHONE)
    website = optional(
        _l("Website"),
        at_most(300),
        URL(message=_l("Enter a full web address, for example https://example.org.")),
    )
    contact_name = optional(_l("Primary contact name"), at_most(200))
    contact_email = optional(
        _l("Primary contact email"), at_most(254), valid_email, field=EmailField
    )
    contact_phone = optional(_l("Primary contact phone"), _PHONE)
    notes = optional(_l("Notes"), at_most(5000), field=TextAreaField)


class EmployerForm(OrganizationForm):
    naics_code = optional(
        _l("NAICS code"),
        Regexp(r"^\d{2,6}$", message=_l("A NAICS code has 2 to 6 digits, for example 238210.")),
    )


class OccupationForm(ScopeForm):
    name = required(_l("Name"), _l("Enter the occupation's name."), 200)
    rapids_code = optional(
        _l("RAPIDS code"),
        Regexp(r"^[0-9A-Za-z]{3,10}$", message=_l("Use 3 to 10 letters or digits, e.g. 0159.")),
    )
    onet_code = optional(
        _l("O*NET-SOC code"),
        Regexp(r"^\d{2}-\d{4}(\.\d{2})?$", message=_l("Use the form 47-2111.00.")),
    )
