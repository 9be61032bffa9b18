"""The schema. Every tenant-owned table carries sponsor_id; read it through scope.tenancy."""

from ..extensions import db
from .base import UTCDateTime, enum_column, never_reuse_ids, utcnow
from .counts import UserCount, UserMark, UserMarkCount
from .invitations import (
    INVITATION_VALIDITY,
    Invitation,
    InvitationState,
    WizardDraft,
    WizardKind,
    WizardRow,
)
from .people import (
    PARTNER_USER_TYPES,
    Occupation,
    OrganizationKind,
    PartnerOrganization,
    Sponsor,
    User,
    UserStatus,
    UserType,
    full_name,
)
from .public_links import PublicLink, PublicSignup, SignupState
from .records import (
    AccountToken,
    AccountTokenPurpose,
    AuditEvent,
    MailMessage,
    MailState,
    Notice,
)

__all__ = [
    "PARTNER_USER_TYPES",
    "AccountToken",
    "AccountTokenPurpose",
    "AuditEvent",
    "INVITATION_VALIDITY",
    "Invitation",
    "InvitationState",
    "MailMessage",
    "MailState",
    "Notice",
    "Occupation",
    "OrganizationKind",
    "PartnerOrganization",
    "PublicLink",
    "PublicSignup",
    "SignupState",
    "Sponsor",
    "UTCDateTime",
    "User",
    "UserCount",
    "UserMark",
    "UserMarkCount",
    "UserStatus",
    "UserType",
    "WizardDraft",
    "WizardKind",
    "WizardRow",
    "enum_column",
    "full_name",
    "utcnow",
]

never_reuse_ids(db.metadata)
