"""Sponsors, their partner organizations and occupations, and the people who use Scope."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import LazyString
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..extensions import db
from ..i18n import N_, gettext
from ..text import key_length, person_name_key
from .base import UTCDateTime, enum_column, utcnow


class UserType(enum.StrEnum):
    STAFF = "staff"
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    MENTOR = "mentor"
    PROVIDER = "provider"

    @property
    def label(self) -> str:
        return gettext(_USER_TYPE_LABELS[self])

    @property
    def lazy_label(self) -> LazyString:
        """The label read when shown: for choices made once, at import."""
        return LazyString(lambda: self.label)


PARTNER_USER_TYPES = [
    UserType.ADMINISTRATOR,
    UserType.SUPERVISOR,
    UserType.MENTOR,
    UserType.PROVIDER,
]


# Translated when read (N_ only marks them for the catalog).
_USER_TYPE_LABELS = {
    UserType.STAFF: N_("Staff"),
    UserType.ADMINISTRATOR: N_("Administrator"),
    UserType.SUPERVISOR: N_("Supervisor"),
    UserType.MENTOR: N_("Mentor"),
    UserType.PROVIDER: N_("Provider"),
}


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    MANAGED = "managed"
    DEACTIVATED = "deactivated"

    @property
    def label(self) -> str:
        return gettext(_USER_STATUS_LABELS[self])


_USER_STATUS_LABELS = {
    UserStatus.ACTIVE: N_("Active"),
    UserStatus.MANAGED: N_("Managed"),
    UserStatus.DEACTIVATED: N_("Deactivated"),
}


class OrganizationKind(enum.StrEnum):
    """Employers (on-the-job training) and education providers (related instruction)."""

    EMPLOYER = "employer"
    PROVIDER = "provider"

    @property
    def label(self) -> str:
        """As a title: "New Education Provider"."""
        return gettext(_KIND_WORDS[self][0])

    @property
    def noun(self) -> str:
        """In a sentence: "This education provider was archived …"."""
        return gettext(_KIND_WORDS[self][1])

    @property
    def plural(self) -> str:
        """As a heading or a group of choices: "Providers"."""
        return gettext(_KIND_WORDS[self][2])

    @property
    def slug(self) -> str:
        """In URLs: /partners/providers."""
        return _KIND_WORDS[self][3]

    @classmethod
    def from_slug(cls, slug: str) -> OrganizationKind:
        return next(kind for kind in cls if kind.slug == slug)


_KIND_WORDS = {
    OrganizationKind.EMPLOYER: (N_("Employer"), N_("employer"), N_("Employers"), "employers"),
    OrganizationKind.PROVIDER: (
        N_("Education Provider"),
        N_("education provider"),
        N_("Providers"),
        "providers",
    ),
}


def full_name(first_name: str | None, last_name: str | None, email: str | None) -> str:
    """How a person is named on screen: first and last name, or their email."""
    name = f"{first_name or ''} {last_name or ''}".strip()
    return name or (email or "")


class Sponsor(db.Model):
    __tablename__ = "sponsor"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The zone its people read times in unless they chose their own (IANA name).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Partner administrators may invite people to their own organization (off by default),
    # and, with the second switch, other administrators too.
    partner_admins_invite: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    partner_admins_invite_admins: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The language of its invitations unless staff pick another, and of its emails to people
    # who never chose one (scope.i18n).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # Pending invitations get reminder emails (SCOPE_INVITATION_REMINDER_DAYS) unless staff
    # turn them off in Sponsor settings.
    invitation_reminders: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Occupation(db.Model):
    __tablename__ = "occupation"
    __table_args__ = (UniqueConstraint("sponsor_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(key_length(200)))
    rapids_code: Mapped[str | None] = mapped_column(String(20))
    onet_code: Mapped[str | None] = mapped_column(String(20))
    # Retired: gone from every picker, still shown on the people and invitations that have it.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerOrganization(db.Model):
    __tablename__ = "partner_organization"
    __table_args__ = (
        UniqueConstraint("sponsor_id", "kind", "name_key"),
        Index("ix_partner_organization_listing", "sponsor_id", "kind", "name_key"),
        Index("ix_partner_organization_sponsor_name", "sponsor_id", "name_key", "id"),
        Index("ix_partner_organization_city", "sponsor_id", "kind", "city", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind))
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name: the key for uniqueness and for sorting and prefix search.
    name_key: Mapped[str] = mapped_column(String(key_length(200)))
    dba_name: Mapped[str | None] = mapped_column(String(200))
    ein: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip_code: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(30))
    website: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    naics_code: Mapped[str | None] = mapped_column(String(6))
    notes: Mapped[str | None] = mapped_column(Text)
    # Archived: gone from pickers and lists by default, its users and history kept.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        # email included: a search reads this index alone, never the table rows.
        Index("ix_user_account_sponsor_name", "sponsor_id", "name_key", "id", "email"),
        # PostgreSQL: trigram index for substring search (a plain index elsewhere).
        Index(
            "ix_user_account_search",
            "name_key",
            "email",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops", "email": "gin_trgm_ops"},
        ),
        # One index per filter or sort of MANAGE → Users, ending in the sort key and id.
        Index(
            "ix_user_account_sponsor_org", "sponsor_id", "partner_organization_id", "name_key", "id"
        ),
        Index("ix_user_account_sponsor_type", "sponsor_id", "user_type", "name_key", "id"),
        Index("ix_user_account_sponsor_status", "sponsor_id", "status", "name_key", "id"),
        Index("ix_user_account_sponsor_email", "sponsor_id", "email", "id"),
        # An address is one person's within a sponsor. Across sponsors it is unique only as
        # a login (the account has a password): another sponsor's managed record of the same
        # person is allowed, so that staff learn nothing of other sponsors' records; which
        # one becomes the login is settled when a record is converted.
        UniqueConstraint("sponsor_id", "email"),
        Index(
            "uq_user_account_login_email",
            "email",
            unique=True,
            sqlite_where=text("password_hash IS NOT NULL"),
            postgresql_where=text("password_hash IS NOT NULL"),
        ),
        Index("ix_user_account_sponsor_login", "sponsor_id", "last_login_at", "name_key", "id"),
        # The users without an email, a last login or an organization, in the order they
        # follow the others (keyset paging walks them apart): PostgreSQL reads no order from
        # "column IS NULL" in the indexes above, so it sorted them on every page.
        Index(
            "ix_user_account_sponsor_no_email",
            "sponsor_id",
            "id",
            sqlite_where=text("email IS NULL"),
            postgresql_where=text("email IS NULL"),
        ),
        Index(
            "ix_user_account_sponsor_no_login",
            "sponsor_id",
            "name_key",
            "id",
            sqlite_where=text("last_login_at IS NULL"),
            postgresql_where=text("last_login_at IS NULL"),
        ),
        Index(
            "ix_user_account_sponsor_no_org",
            "sponsor_id",
            "name_key",
            "id",
            sqlite_where=text("partner_organization_id IS NULL"),
            postgresql_where=text("partner_organization_id IS NULL"),
        ),
        # The mail worker's periodic step looks for digest readers whose digest is due.
        Index("ix_user_account_notice_digest", "notice_digest", "notice_digest_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    # Stored as scope.emails.normalize_email makes it; the login of an account with a password.
    email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    # "last first": two names of 100 and a space, with room to spare.
    name_key: Mapped[str] = mapped_column(String(key_length(210)), default="")
    user_type: Mapped[UserType] = mapped_column(enum_column(UserType))
    status: Mapped[UserStatus] = mapped_column(enum_column(UserStatus))
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="RESTRICT")
    )
    occupation_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupation.id", ondelete="RESTRICT")
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped by logout, password change and deactivation: ends every session at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # The zone this person reads times in; None: their sponsor's.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The person's own choice on My account; None follows scope.i18n's precedence.
    language: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    authentication_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Staff: notices come as one email a day instead of lighting the Notifications button.
    notice_digest: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # The end of the period the last digest covered (when it was queued).
    notice_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sponsor: Mapped[Sponsor] = relationship(lazy="joined")
    partner_organization: Mapped[PartnerOrganization | None] = relationship()
    occupation: Mapped[Occupation | None] = relationship()

    @validates("first_name", "last_name")
    def _keep_name_key(self, key: str, value: str) -> str:
        """name_key follows the name, whoever sets it."""
        first = value if key == "first_name" else self.first_name
        last = value if key == "last_name" else self.last_name
        self.name_key = person_name_key(first, last)
        return value

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name, self.email)

    @property
    def organization_name(self) -> str | None:
        return self.partner_organization.name if self.partner_organization else None

    @property
    def occupation_name(self) -> str | None:
        return self.occupation.name if self.occupation else None

    @property
    def is_staff(self) -> bool:
        return self.user_type is UserType.STAFF

    @property
    def is_active(self) -> bool:  # Flask-Login: only active accounts hold a session
        return self.status is UserStatus.ACTIVE

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"
