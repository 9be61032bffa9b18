import time

from flask import Blueprint, abort, current_app, redirect, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from ..auth.throttle import address_and_client_key
from ..extensions import db, limiter
from ..forms import ScopeForm
from ..htmx import fragment_or_redirect, render
from ..models import AccountTokenPurpose, OrganizationKind
from ..partners import services as partner_services
from ..refusals import Refused
from ..security import home_url_for, log_in, no_store, partner_required
from . import links, services
from .forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    NameForm,
    OwnLanguageForm,
    OwnTimeZoneForm,
    PartnerEmployerForm,
    PartnerOrganizationForm,
    SetPasswordForm,
)

bp = Blueprint("accounts", __name__)


# --- password recovery ----------------------------------------------------------------------


# Per address and client, not per address: a stranger must not be able to get the owner
# refused. How many emails an address receives is capped where they are queued
# (services.request_recovery), behind the same answer.
@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=address_and_client_key("recover"))
def forgot_password():
    form = ForgotPasswordForm()
    sent = False
    if form.validate_on_submit():
        started = time.monotonic()
        services.request_recovery(form.email.data)
        db.session.commit()
        _answer_no_sooner_than(started)
        sent = True
    return render(
        "accounts/forgot_password.html",
        "recovery",
        status=form.status,
        form=form,
        sent=sent,
        lifetime=services.recovery_lifetime_text(),
    )


def _answer_no_sooner_than(started: float) -> None:
    """How long the answer took must not tell whether a link was queued."""
    floor = current_app.config.get("RECOVERY_ANSWER_SECONDS", services.RECOVERY_ANSWER_SECONDS)
    remaining = floor - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


# --- the pages set-password and recovery links open -----------------------------------------


@bp.route(links.SET_PASSWORD_PATH + "<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def set_password(token):
    return _link_page(token, AccountTokenPurpose.SET_PASSWORD)


@bp.route(links.RECOVERY_PATH + "<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def recover(token):
    return _link_page(token, AccountTokenPurpose.RECOVERY)


def _link_page(token: str, purpose: AccountTokenPurpose):
    try:
        account_token = links.check_link(token, purpose)
    except links.LinkProblem as problem:
        return no_store(_link_problem(problem, purpose))
    form = SetPasswordForm(user=account_token.user)
    if form.validate_on_submit():
        try:
            user = services.set_password_with_link(token, purpose, form.password.data)
        except links.LinkProblem as problem:
            db.session.rollback()
            return no_store(_link_problem(problem, purpose))
        except Refused as refused:
            form.refuse(refused)
        else:
            log_in(user)
            return redirect(home_url_for(user))
    return no_store(
        render(
            "accounts/set_password.html",
            "set_password",
            status=form.status,
            form=form,
            person=account_token.user,
            purpose=purpose.value,
        )
    )


def _link_problem(problem: links.LinkProblem, purpose: AccountTokenPurpose):
    return render(
        "accounts/link_problem.html",
        "set_password",
        status=404 if problem.reason == "invalid" else 410,
        reason=problem.reason,
        purpose=purpose.value,
        lifetime=services.recovery_lifetime_text(),
    )


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


# --- a new login address, confirmed by its owner --------------------------------------------


@bp.route(links.CHANGE_EMAIL_PATH + "<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def confirm_email(token):
    """Opening the link shows what it does; only the page's button spends it (mail scanners
    open links)."""
    try:
        account_token = links.check_link(token, AccountTokenPurpose.CHANGE_EMAIL)
    except links.LinkProblem as problem:
        return no_store(_link_problem(problem, AccountTokenPurpose.CHANGE_EMAIL))
    form = ScopeForm()
    if form.validate_on_submit():
        try:
            services.confirm_email_change(token)
        except links.LinkProblem as problem:
            db.session.rollback()
            return no_store(_link_problem(problem, AccountTokenPurpose.CHANGE_EMAIL))
        db.session.commit()
        if current_user.is_authenticated:
            logout_user()
        return no_store(render("accounts/confirm_email.html", confirmed=True, form=form))
    return no_store(
        render(
            "accounts/confirm_email.html",
            person=account_token.user,
            new_email=account_token.new_email,
            form=form,
        )
    )
