"""The pages a link in an email opens: recovery, set password, a new login address."""

import time

from flask import current_app, redirect
from flask_login import current_user, logout_user

from ..auth.throttle import address_and_client_key
from ..extensions import db, limiter
from ..forms import ScopeForm
from ..htmx import render
from ..models import AccountTokenPurpose
from ..refusals import Refused
from ..security import home_url_for, log_in, no_store
from . import link_emails, links, services
from .forms import (
    ForgotPasswordForm,
    SetPasswordForm,
)
from .routes import bp

# --- password recovery ----------------------------------------------------------------------


# Per address and client, not per address: a stranger must not be able to get the owner
# refused. How many emails an address receives is capped where they are queued
# (link_emails.request_recovery), behind the same answer.
@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=address_and_client_key("recover"))
def forgot_password():
    form = ForgotPasswordForm()
    sent = False
    if form.validate_on_submit():
        started = time.monotonic()
        link_emails.request_recovery(form.email.data)
        db.session.commit()
        _answer_no_sooner_than(started)
        sent = True
    return render(
        "accounts/forgot_password.html",
        "recovery",
        status=form.status,
        form=form,
        sent=sent,
        lifetime=link_emails.recovery_lifetime_text(),
    )


def _answer_no_sooner_than(started: float) -> None:
    """How long the answer took must not tell whether a link was queued."""
    floor = current_app.config.get("RECOVERY_ANSWER_SECONDS", link_emails.RECOVERY_ANSWER_SECONDS)
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
        lifetime=link_emails.recovery_lifetime_text(),
    )


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
            link_emails.confirm_email_change(token)
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
