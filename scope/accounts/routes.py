from flask import Blueprint, abort, redirect, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user

from ..extensions import db, limiter
from ..htmx import fragment_or_redirect, render
from ..models import OrganizationKind
from ..partners import services as partner_services
from ..refusals import Refused
from ..security import partner_required
from . import services
from .forms import (
    ChangePasswordForm,
    NameForm,
    OwnLanguageForm,
    OwnTimeZoneForm,
    PartnerEmployerForm,
    PartnerOrganizationForm,
)

bp = Blueprint("accounts", __name__)


# --- a partner user's organization ----------------------------------------------------------


def _organization_page(block: str, *, form=None, status: int = 200):
    organization = current_user.partner_organization
    return render(
        "accounts/my_organization.html",
        block,
        status=status,
        nav="organization",
        organization=organization,
        can_edit=services.may_edit_organization(current_user),
        users=services.organization_users_for(current_user),
        form=form,
        editing=form is not None,
    )


@bp.get("/my/organization")
@partner_required
def my_organization():
    return _organization_page("details")


@bp.route("/my/organization/edit", methods=["GET", "POST"])
@partner_required
def edit_my_organization():
    if not services.may_edit_organization(current_user):
        abort(403)
    organization = current_user.partner_organization
    form_class = (
        PartnerEmployerForm
        if organization.kind is OrganizationKind.EMPLOYER
        else PartnerOrganizationForm
    )
    form = form_class(obj=organization)
    if form.validate_on_submit():
        partner_services.update_organization(organization, form.data, current_user)
        db.session.commit()
        return fragment_or_redirect(
            url_for("accounts.my_organization"), lambda: _organization_page("details")
        )
    return _organization_page("edit_form", form=form, status=form.status)


# --- a person's own account -----------------------------------------------------------------


def _password_change_key() -> str:
    return f"password-change:{current_user.id if current_user.is_authenticated else ''}"


def _account_page(
    block: str,
    *,
    name_form=None,
    zone_form=None,
    language_form=None,
    password_form=None,
    status=200,
    **context,
):
    return render(
        "accounts/my_account.html",
        block,
        status=status,
        nav="account",
        name_form=name_form,
        zone_form=zone_form,
        language_form=language_form,
        password_form=password_form or ChangePasswordForm(formdata=None),
        **context,
    )


@bp.get("/my/account")
@login_required
def my_account():
    return _account_page("name")


@bp.route("/my/account/name", methods=["GET", "POST"])
@login_required
def edit_name():
    form = NameForm(obj=current_user)
    if form.validate_on_submit():
        services.update_name(
            current_user._get_current_object(), form.first_name.data, form.last_name.data
        )
        db.session.commit()
        return fragment_or_redirect(url_for("accounts.my_account"), lambda: _account_page("name"))
    return _account_page("name", name_form=form, status=form.status)


@bp.route("/my/account/time-zone", methods=["GET", "POST"])
@login_required
def edit_time_zone():
    form = OwnTimeZoneForm(obj=current_user, sponsor_zone=current_user.sponsor.time_zone)
    if form.validate_on_submit():
        try:
            services.set_time_zone(current_user._get_current_object(), form.time_zone.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(
                url_for("accounts.my_account"), lambda: _account_page("time_zone")
            )
    return _account_page("time_zone", zone_form=form, status=form.status)


@bp.route("/my/account/language", methods=["GET", "POST"])
@login_required
def edit_language():
    form = OwnLanguageForm(obj=current_user)
    if form.validate_on_submit():
        try:
            services.set_language(current_user._get_current_object(), form.language.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            # The whole page changes language, not only this card (htmx: HX-Redirect).
            return redirect(url_for("accounts.my_account"))
    return _account_page("language", language_form=form, status=form.status)


@bp.post("/my/account/password")
@login_required
@limiter.limit("10 per hour", key_func=_password_change_key)
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm(user=user)
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.password.data)
        except Refused as refused:
            form.refuse(refused)
        else:
            db.session.commit()
            login_user(user)  # this session carries the new version; every other one ended
            message = gettext(
                "Your password has been changed. Other sessions have been logged out."
            )
            return fragment_or_redirect(
                url_for("accounts.my_account"),
                lambda: _account_page("password", password_changed=message),
                message,
            )
    return _account_page("password", password_form=form, status=form.status)
