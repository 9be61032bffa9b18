"""Public invite links, and the sign-ups that come through them."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import N_
from .base import UTCDateTime, enum_column, utcnow
from .people import Occupation, PartnerOrganization, User, UserType


class PublicLink(db.Model):
    """A link staff hand out (flyer, QR code, website) for one organization and user type.

    Its token is derived from the secret key and `nonce` (scope.invites.tokens), so the
    database alone cannot rebuild it and Copy link can show it again; Rotate gives a new nonce.
    """

    __tablename__ = "public_link"
    __table_args__ = (Index("ix_public_link_sponsor", "sponsor_id", "partner_organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    partner_organization_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="RESTRICT")
    )
    user_type: Mapped[UserType] = mapped_column(enum_column(UserType))
    occupation_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupation.id", ondelete="RESTRICT")
    )
    nonce: Mapped[str] = mapped_column(String(64))
    # The nonce before the last Rotate, so the old URL can say it was replaced.
    previous_nonce: Mapped[str | None] = mapped_column(String(64))
    # The last day sign-ups are taken, in the sponsor's time zone.
    expires_on: Mapped[date | None] = mapped_column(Date)
    max_signups: Mapped[int | None] = mapped_column(Integer)
    # Confirmed sign-ups (accounts made and sign-ups awaiting approval); a decline frees one.
    signup_count: Mapped[int] = mapped_column(Integer, default=0)
    # Lower-case domains separated by spaces; None: any address.
    allowed_domains: Mapped[str | None] = mapped_column(Text)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner_organization: Mapped[PartnerOrganization] = relationship()
    occupation: Mapped[Occupation | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def domains(self) -> list[str]:
        return (self.allowed_domains or "").split()


class SignupState(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    DECLINED = "declined"
    # A newer sign-up of the same address through the same link ended this one.
    REPLACED = "replaced"

    @property
    def label(self) -> str:
        return gettext(_SIGNUP_STATE_LABELS[self])


# Translated when read (N_ only marks them for the catalog).
_SIGNUP_STATE_LABELS = {
    SignupState.UNCONFIRMED: N_("Unconfirmed"),
    SignupState.AWAITING_APPROVAL: N_("Awaiting approval"),
    SignupState.APPROVED: N_("Approved"),
    SignupState.DECLINED: N_("Declined"),
    SignupState.REPLACED: N_("Replaced"),
}


class PublicSignup(db.Model):
    """Someone who signed up through a public link. No account exists until they confirm
    their address (and, with approval on, staff approve): this row keeps what they typed,
    their password only as a hash, and the confirmation link only as a SHA-256."""

    __tablename__ = "public_signup"
    __table_args__ = (
        # pending_email is the address while the sign-up awaits approval, NULL otherwise:
        # one waiting sign-up per sponsor and address, enforced by the database.
        UniqueConstraint("sponsor_id", "pending_email"),
        Index("ix_public_signup_queue", "sponsor_id", "state", "confirmed_at"),
        Index("ix_public_signup_link_email", "public_link_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    public_link_id: Mapped[int] = mapped_column(ForeignKey("public_link.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    pending_email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[SignupState] = mapped_column(enum_column(SignupState))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The language of the page the sign-up was made on: its emails are written in it.
    language: Mapped[str | None] = mapped_column(String(8))

    public_link: Mapped[PublicLink] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
