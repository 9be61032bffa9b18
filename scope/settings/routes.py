from flask import current_app, request, url_for
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, render
from ..refusals import Refused
from ..security import staff_required
from . import bp, services
from .forms import InvitationRemindersForm, SponsorLanguageForm, SponsorTimeZoneForm


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
    )


@bp.get("/settings")
@staff_required
def index():
    return _page("time_zone")


@bp.route("/settings/time-zone", methods=["GET", "POST"])
@staff_required
def time_zone():
    sponsor = current_user.sponsor
    form = SponsorTimeZoneForm(obj=sponsor)
    if form.validate_on_submit():
        try:
            services.set_time_zone(sponsor, form.time_zone.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(url_for("settings.index"), lambda: _page("time_zone"))
    return _page("time_zone", form=form, status=form.status)


@bp.route("/settings/language", methods=["GET", "POST"])
@staff_required
def language():
    sponsor = current_user.sponsor
    form = SponsorLanguageForm(obj=sponsor)
    if form.validate_on_submit():
        try:
            services.set_language(sponsor, form.language.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(url_for("settings.index"), lambda: _page("language"))
    return _page("language", form=form, status=form.status)


@bp.route("/settings/invitation-reminders", methods=["GET", "POST"])
@staff_required
def invitation_reminders():
    sponsor = current_user.sponsor
    # An unticked box sends nothing: a POST without it means off, never "as before".
    formdata = request.form if request.method == "POST" else None
    form = InvitationRemindersForm(formdata=formdata, obj=sponsor)
    if form.validate_on_submit():
        services.set_invitation_reminders(sponsor, form.invitation_reminders.data)
        db.session.commit()
        return fragment_or_redirect(
            url_for("settings.index"), lambda: _page("invitation_reminders")
        )
    return _page("invitation_reminders", form=form, status=form.status)
