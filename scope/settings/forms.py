from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from .. import zones
from ..forms import ScopeForm


def zone_choices(blank: str | None = None) -> list[SelectChoice]:
    """The zones by region for a select; `blank` labels a first "not chosen" option."""
    listed = [
        SelectChoice(value, label, optgroup=region) for value, label, region in zones.choices()
    ]
    return [SelectChoice("", blank), *listed] if blank else listed


def time_zone_field(label: str = "Time zone", **kwargs) -> SelectField:
    # What is chosen is checked by zones.check, the one rule for it.
    return SelectField(label, choices=zone_choices(), validate_choice=False, **kwargs)


class SponsorTimeZoneForm(ScopeForm):
    time_zone = time_zone_field()


class InvitationRemindersForm(ScopeForm):
    invitation_reminders = BooleanField("Send reminder emails for pending invitations")
