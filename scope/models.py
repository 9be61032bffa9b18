"""The schema. Every tenant-owned table carries sponsor_id; read it through scope.tenancy."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class UserType(enum.StrEnum):
    STAFF = "staff"
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    MENTOR = "mentor"
    PROVIDER = "provider"

    @property
    def label(self) -> str:
        return "Staff" if self is UserType.STAFF else self.value.capitalize()


PARTNER_USER_TYPES = [
    UserType.ADMINISTRATOR,
    UserType.SUPERVISOR,
    UserType.MENTOR,
    UserType.PROVIDER,
]


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    MANAGED = "managed"
    DEACTIVATED = "deactivated"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class OrganizationKind(enum.StrEnum):
    EMPLOYER = "employer"
    PROVIDER = "provider"

    @property
    def label(self) -> str:
        return "Employer" if self is OrganizationKind.EMPLOYER else "Education Provider"


def _enum(enum_cls, length=20):
    """Enums stored as plain strings with a CHECK, identical on SQLite and PostgreSQL."""
    return db.Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=True,
        name=enum_cls.__name__.lower(),
    )


def full_name(first_name: str | None, last_name: str | None, email: str | None) -> str:
    """How a person is named on screen: first and last name, or their email."""
    name = f"{first_name or ''} {last_name or ''}".strip()
    return name or (email or "")


def person_name_key(first_name: str | None, last_name: str | None) -> str:
    """How people sort and are searched: last name, then first, lower-cased."""
    return f"{last_name or ''} {first_name or ''}".strip().lower()


class Sponsor(db.Model):
    __tablename__ = "sponsor"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Occupation(db.Model):
    __tablename__ = "occupation"
    __table_args__ = (UniqueConstraint("sponsor_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    rapids_code: Mapped[str | None] = mapped_column(String(20))
    onet_code: Mapped[str | None] = mapped_column(String(20))
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
    kind: Mapped[OrganizationKind] = mapped_column(_enum(OrganizationKind))
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name: the key for uniqueness and for sorting and prefix search.
    name_key: Mapped[str] = mapped_column(String(200))
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
        Index("ix_user_account_sponsor_login", "sponsor_id", "last_login_at", "name_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    # Stored lower-cased: unique across the installation because it is the login.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    name_key: Mapped[str] = mapped_column(String(210), default="")
    user_type: Mapped[UserType] = mapped_column(_enum(UserType))
    status: Mapped[UserStatus] = mapped_column(_enum(UserStatus))
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="RESTRICT")
    )
    occupation_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupation.id", ondelete="RESTRICT")
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped by logout, password change and deactivation: ends every session at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    authentication_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject", "sponsor_id", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(50))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(db.Model):
    __tablename__ = "invitation"
    __table_args__ = (
        # pending_email is the email while the invitation is pending and NULL afterwards:
        # one pending invitation per sponsor and address, enforced by the database.
        UniqueConstraint("sponsor_id", "pending_email"),
        Index("ix_invitation_listing", "sponsor_id", "state", "sent_at"),
        Index("ix_invitation_email", "sponsor_id", "state", "email", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    pending_email: Mapped[str | None] = mapped_column(String(254))
    user_type: Mapped[UserType] = mapped_column(_enum(UserType))
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="RESTRICT")
    )
    occupation_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupation.id", ondelete="RESTRICT")
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    state: Mapped[InvitationState] = mapped_column(_enum(InvitationState))
    # The link is derived from the secret key and this nonce; a new nonce kills old links.
    nonce: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resend_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner_organization: Mapped[PartnerOrganization | None] = relationship()
    occupation: Mapped[Occupation | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])


class AccountTokenPurpose(enum.StrEnum):
    SET_PASSWORD = "set_password"
    RECOVERY = "recovery"


class AccountToken(db.Model):
    """Set-password and recovery links; only a hash of the token is stored."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[AccountTokenPurpose] = mapped_column(_enum(AccountTokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class MailState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class MailMessage(db.Model):
    """The outbox: written in the transaction that causes the email, delivered afterwards."""

    __tablename__ = "mail_message"
    __table_args__ = (Index("ix_mail_message_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    state: Mapped[MailState] = mapped_column(_enum(MailState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker's claim on a message expires, so a killed worker's batch is picked up again.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WizardKind(enum.StrEnum):
    TEAMMATES = "teammates"
    EXTERNAL = "external"
    MANAGED = "managed"


class WizardDraft(db.Model):
    """A staff member's unfinished invitation or managed-user list, kept across reloads."""

    __tablename__ = "wizard_draft"
    __table_args__ = (UniqueConstraint("staff_user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[WizardKind] = mapped_column(_enum(WizardKind))
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner_organization: Mapped[PartnerOrganization | None] = relationship()
    rows: Mapped[list[WizardRow]] = relationship(
        back_populates="draft", order_by="WizardRow.id", cascade="all, delete-orphan"
    )


class WizardRow(db.Model):
    __tablename__ = "wizard_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(
        ForeignKey("wizard_draft.id", ondelete="CASCADE"), index=True
    )
    user_type: Mapped[UserType] = mapped_column(_enum(UserType))
    email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    occupation_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupation.id", ondelete="CASCADE")
    )

    draft: Mapped[WizardDraft] = relationship(back_populates="rows")
    occupation: Mapped[Occupation | None] = relationship()
