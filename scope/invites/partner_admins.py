"""Partner administrators who invite people to their own organization, when their sponsor
allows it: who may, which user types, which organization. The wizard's rules (rows.py) and
the routes (inviter_required) ask here."""

from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_babel import gettext
from flask_login import current_user

from ..extensions import login_manager
from ..models import PARTNER_USER_TYPES, OrganizationKind, PartnerOrganization, User, UserType
from ..refusals import Refused

# The people an employer's and a provider's administrator invite (administrators as well when
# the sponsor allows it).
_TYPES_BY_KIND = {
    OrganizationKind.EMPLOYER: [UserType.SUPERVISOR, UserType.MENTOR],
    OrganizationKind.PROVIDER: [UserType.PROVIDER],
}


def is_partner_inviter(user: User) -> bool:
    """A partner administrator whose sponsor lets them invite to their own organization: they
    see its invitations in MANAGE, and invite while it is not archived (invites_now)."""
    return (
        getattr(user, "is_authenticated", False)
        and user.user_type is UserType.ADMINISTRATOR
        and user.partner_organization_id is not None
        and user.sponsor.partner_admins_invite
    )


def invites_now(user: User) -> bool:
    """A partner inviter whose organization is not archived: no one is invited to an
    archived one (drafts.not_archived) until staff restore it."""
    return is_partner_inviter(user) and user.partner_organization.archived_at is None


def invitable_types(inviter: User, organization: PartnerOrganization | None) -> list[UserType]:
    """The user types this person may invite to that organization."""
    if inviter.is_staff:
        return list(PARTNER_USER_TYPES)
    if organization is None or not is_partner_inviter(inviter):
        return []
    if organization.id != inviter.partner_organization_id:
        return []
    types = list(_TYPES_BY_KIND[organization.kind])
    if inviter.sponsor.partner_admins_invite_admins:
        types.insert(0, UserType.ADMINISTRATOR)
    return types


def type_refusal(
    inviter: User, organization: PartnerOrganization | None, user_type: UserType | None
) -> Refused | None:
    if inviter.is_staff or user_type is None:
        return None
    allowed = invitable_types(inviter, organization)
    if user_type in allowed:
        return None
    if not allowed:
        return Refused(gettext("You cannot invite anyone to your organization."), "user_type")
    labels = ", ".join(t.label for t in allowed)
    return Refused(
        gettext("You can invite %(types)s to your organization.", types=labels), "user_type"
    )


def organization_refusal(inviter: User, organization: PartnerOrganization) -> Refused | None:
    """A partner administrator invites to their own organization only."""
    if inviter.is_staff or organization.id == inviter.partner_organization_id:
        return None
    return Refused(gettext("Choose the organization the people work at."), "organization")


def inviter_required(view):
    """Staff; or a partner administrator allowed to invite, in the external wizard only."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.is_staff:
            return view(*args, **kwargs)
        if is_partner_inviter(current_user) and kwargs.get("slug", "external") == "external":
            # The INVITE wizard while their organization takes people; MANAGE always.
            if request.blueprint == "invites" and not invites_now(current_user):
                abort(403)
            return view(*args, **kwargs)
        abort(403)

    return wrapped
