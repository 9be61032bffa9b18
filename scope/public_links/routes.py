"""INVITE → Public links: the list, a new link, its QR code and flyer, Disable and Rotate."""

import segno
from flask import request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..extensions import db
from ..htmx import fragment_or_redirect, render
from ..i18n import N_
from ..models import PublicLink, PublicSignup, UserType
from ..partners import picker
from ..partners.occupations import occupation_choices
from ..refusals import Refused
from ..security import staff_required
from ..tenancy import get_or_404
from . import bp, services, signups
from .forms import PublicLinkForm


def _index(**context):
    return render(
        "public_links/index.html",
        "links",
        nav="invite",
        tab="authenticated",
        links=services.sponsor_links(),
        **context,
    )


@bp.get("/invite/public-links")
@staff_required
def index():
    return _index()


def _user_type(value: str | None) -> UserType | None:
    """The chosen type, or None for anything else (the service refuses it with its message)."""
    return next((t for t in UserType if t.value == value), None)


def _organization_id(form: PublicLinkForm) -> int | None:
    """The organization the picker names; None when nothing was typed or picked (the service
    then asks for one, beside its other refusals)."""
    if not (form.organization.data or form.organization_name.data or form.organization_choice.data):
        return None
    return picker.pick(
        form.organization.data, form.organization_name.data, choice=form.organization_choice.data
    ).id


@bp.route("/invite/public-links/new", methods=["GET", "POST"])
@staff_required
def new():
    # Opened from an organization's page, the link is for that organization.
    chosen = picker.chosen(request.args.get("organization")) if request.method == "GET" else None
    form = PublicLinkForm(
        data={"organization": chosen.id, "organization_name": chosen.name} if chosen else None
    ).fill(occupation_choices())
    offered = picker.NotPicked("")
    if form.validate_on_submit():
        try:
            data = services.LinkInput(
                organization_id=_organization_id(form),
                user_type=_user_type(form.user_type.data),
                occupation_id=form.occupation.data,
                expires_on=form.expires_on.data,
                max_signups=form.max_signups.data,
                allowed_domains=form.allowed_domains.data,
                require_approval=form.require_approval.data,
            )
            link = services.create_link(data, current_user)
        except picker.NotPicked as refused:
            form.refuse(refused)
            offered = refused
        except Refused as refused:
            db.session.rollback()
            form.refuse(refused)
        else:
            db.session.commit()
            return fragment_or_redirect(
                url_for("public_links.index"),
                None,
                gettext(
                    "Public link created for %(organization)s.",
                    organization=link.partner_organization.name,
                ),
            )
    return render(
        "public_links/new.html",
        "link_form",
        status=form.status,
        nav="invite",
        tab="authenticated",
        form=form,
        offered=offered,
    )


def _qr_data_uri(link: PublicLink, scale: int) -> str:
    # Drawn here from the URL (segno, pure Python): no QR service ever sees the link.
    return segno.make(services.link_url(link), error="m").svg_data_uri(scale=scale, border=2)


@bp.get("/invite/public-links/<int:link_id>/qr")
@staff_required
def qr_code(link_id):
    link = get_or_404(PublicLink, link_id)
    return render(
        "public_links/qr.html",
        nav="invite",
        tab="authenticated",
        link=link,
        url=services.link_url(link),
        qr=_qr_data_uri(link, 8),
        closed=services.closed_reason(link),
    )


@bp.get("/invite/public-links/<int:link_id>/flyer")
@staff_required
def flyer(link_id):
    link = get_or_404(PublicLink, link_id)
    return render(
        "public_links/flyer.html",
        link=link,
        sponsor=current_user.sponsor,
        url=services.link_url(link),
        qr=_qr_data_uri(link, 10),
    )


def _change(link_id: int, change, done: str):
    link = get_or_404(PublicLink, link_id, lock=True)
    try:
        change(link, current_user)
    except Refused as refused:
        db.session.rollback()
        message = refused.message
        return fragment_or_redirect(
            url_for("public_links.index"),
            lambda: _index(message=message, ok=False),
            message,
            ok=False,
        )
    db.session.commit()
    message = gettext(done, organization=link.partner_organization.name)
    return fragment_or_redirect(
        url_for("public_links.index"), lambda: _index(message=message, ok=True), message
    )


@bp.post("/invite/public-links/<int:link_id>/disable")
@staff_required
def disable(link_id):
    return _change(
        link_id, services.disable_link, N_("The public link for %(organization)s is disabled.")
    )


@bp.post("/invite/public-links/<int:link_id>/rotate")
@staff_required
def rotate(link_id):
    return _change(
        link_id,
        services.rotate_link,
        N_("The public link for %(organization)s has a new address; the old one no longer works."),
    )


# MANAGE → Users: the sign-ups awaiting approval ---------------------------------------------


@bp.get("/manage/signups")
@staff_required
def awaiting():
    return render("public_links/_awaiting.html", "awaiting", awaiting=signups.awaiting_approval())


def _decide(signup_id: int, decide, done: str, closed: str | None = None):
    """Approve or decline; `closed` says a decision that made no account (decide gave None)."""
    signup = get_or_404(PublicSignup, signup_id, lock=True)
    name = signup.full_name
    try:
        account = decide(signup, current_user)
    except Refused as refused:
        db.session.rollback()
        message, ok = refused.message, False
    else:
        db.session.commit()
        if closed and account is None:
            message, ok = gettext(closed, name=name), False
        else:
            message, ok = gettext(done, name=name), True
    return fragment_or_redirect(
        url_for("manage.users"),
        lambda: render(
            "public_links/_awaiting.html",
            "awaiting",
            awaiting=signups.awaiting_approval(),
            message=message,
            ok=ok,
        ),
        message,
        ok,
    )


@bp.post("/manage/signups/<int:signup_id>/approve")
@staff_required
def approve(signup_id):
    return _decide(
        signup_id,
        signups.approve_signup,
        N_("%(name)s approved; they can log in now."),
        N_("%(name)s's sign-up could not be completed, so it is closed. They have been emailed."),
    )


@bp.post("/manage/signups/<int:signup_id>/decline")
@staff_required
def decline(signup_id):
    return _decide(signup_id, signups.decline_signup, N_("%(name)s's sign-up declined."))
