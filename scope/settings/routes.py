from flask import url_for
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, render
from ..refusals import Refused
from ..security import staff_required
from . import bp, services
from .forms import SponsorLanguageForm, SponsorTimeZoneForm


def _page(block: str, *, form=None, language_form=None, status: int = 200):
    return render(
        "settings/index.html",
        block,
        status=status,
        sponsor=current_user.sponsor,
        form=form,
        language_form=language_form,
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
    return _page("language", language_form=form, status=form.status)
