from collections.abc import Callable

from flask import current_app, request, url_for
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, render
from ..refusals import Refused
from ..security import staff_required
from . import bp, services
from .forms import (
    InvitationRemindersForm,
    PartnerInvitesForm,
    SponsorLanguageForm,
    SponsorTimeZoneForm,
)


def _page(block: str, *, form=None, status: int = 200):
    """The page, or one card; `form` is the open card's (the others show their values)."""
    return render(
        "settings/index.html",
        block,
        status=status,
        sponsor=current_user.sponsor,
        form=form if block == "time_zone" else None,
        language_form=form if block == "language" else None,
        reminders_form=form if block == "invitation_reminders" else None,
        reminder_days=current_app.config["INVITATION_REMINDER_DAYS"],
        partner_form=form if block == "partner_invites" else None,
    )


@bp.get("/settings")
@staff_required
def index():
    # Cancel on a card asks for that card again (htmx), by name.
    cards = {
        "language": "language",
        "invitation-reminders": "invitation_reminders",
        "partner-invites": "partner_invites",
    }
    return _page(cards.get(request.args.get("card"), "time_zone"))


def _save_card(block: str, form, save: Callable[[], object]):
    """One card's POST: a valid form is saved (a refusal goes beside its field), committed
    and the card drawn again with its new value; anything else gets the form back."""
    if form.validate_on_submit():
        try:
            save()
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(url_for("settings.index"), lambda: _page(block))
    return _page(block, form=form, status=form.status)


def _checkboxes():
    """Unticked boxes send nothing: a POST without them means off, never "as before"."""
    return request.form if request.method == "POST" else None


@bp.route("/settings/time-zone", methods=["GET", "POST"])
@staff_required
def time_zone():
    sponsor = current_user.sponsor
    form = SponsorTimeZoneForm(obj=sponsor)
    return _save_card(
        "time_zone", form, lambda: services.set_time_zone(sponsor, form.time_zone.data)
    )


@bp.route("/settings/language", methods=["GET", "POST"])
@staff_required
def language():
    sponsor = current_user.sponsor
    form = SponsorLanguageForm(obj=sponsor)
    return _save_card("language", form, lambda: services.set_language(sponsor, form.language.data))


@bp.route("/settings/invitation-reminders", methods=["GET", "POST"])
@staff_required
def invitation_reminders():
    sponsor = current_user.sponsor
    form = InvitationRemindersForm(formdata=_checkboxes(), obj=sponsor)
    return _save_card(
        "invitation_reminders",
        form,
        lambda: services.set_invitation_reminders(sponsor, form.invitation_reminders.data),
    )


@bp.route("/settings/partner-invites", methods=["GET", "POST"])
@staff_required
def partner_invites():
    sponsor = current_user.sponsor
    form = PartnerInvitesForm(formdata=_checkboxes(), obj=sponsor)
    return _save_card(
        "partner_invites",
        form,
        lambda: services.set_partner_invites(
            sponsor,
            form.partner_admins_invite.data,
            form.partner_admins_invite_admins.data,
            current_user,
        ),
    )
