from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from .. import i18n, zones
from ..forms import ScopeForm


def zone_choices(blank: str | None = None) -> list[SelectChoice]:
    """The zones by region for a select; `blank` labels a first "not chosen" option."""
    listed = [
        SelectChoice(value, label, optgroup=region) for value, label, region in zones.choices()
    ]
    return [SelectChoice("", blank), *listed] if blank else listed


TIME_ZONE = _l("Time zone")


def time_zone_field(label=TIME_ZONE, **kwargs) -> SelectField:
    # What is chosen is checked by zones.check, the one rule for it.
    return SelectField(label, choices=zone_choices(), validate_choice=False, **kwargs)


class SponsorTimeZoneForm(ScopeForm):
    time_zone = time_zone_field()


class SponsorLanguageForm(ScopeForm):
    # What is chosen is checked by settings.services.set_language (scope.i18n.check).
    language = SelectField(
        _l("Language"),
        choices=[
            SelectChoice(code, name, render_kw={"lang": code})
            for code, name in i18n.LANGUAGES.items()
        ],
        validate_choice=False,
    )


class InvitationRemindersForm(ScopeForm):
    invitation_reminders = BooleanField(_l("Send reminder emails for pending invitations"))


class PartnerInvitesForm(ScopeForm):
    partner_admins_invite = BooleanField(
        _l("Partner administrators may invite people to their own organization")
    )
    partner_admins_invite_admins = BooleanField(_l("They may also invite other administrators"))
