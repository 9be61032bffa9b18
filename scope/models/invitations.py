"""Invitations, and the lists staff build in the INVITE wizards before sending them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from .base import UTCDateTime, enum_column, utcnow
from .people import Occupation, PartnerOrganization, User, UserType


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
        # The listing in sent order, with the columns the Status and User type filters read,
        # so walking it needs no table lookups: the Expired filter walked every newer pending
        # invitation's row (38 ms of CPU at 50,000 invitations on SQLite; 14 ms with this).
        Index(
            "ix_invitation_listing",
            "sponsor_id",
            "state",
            "sent_at",
            "expires_at",
            "reviewed_at",
            "user_type",
        ),
        Index("ix_invitation_email", "sponsor_id", "state", "email", "id"),
        # The Invitations filters: every status in sent order, by organization, by inviter.
        Index("ix_invitation_sent", "sponsor_id", "sent_at"),
        Index("ix_invitation_organization", "sponsor_id", "partner_organization_id", "sent_at"),
        Index("ix_invitation_inviter", "sponsor_id", "invited_by_id", "sent_at"),
        # What the mail worker's periodic step looks for: pending, by reminders and age.
        Index("ix_invitation_reminder_due", "state", "reminder_count", "sent_at"),
        Index("ix_invitation_expiry_notice", "state", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    pending_email: Mapped[str | None] = mapped_column(String(254))
    user_type: Mapped[UserType] = mapped_column(enum_column(UserType))
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="RESTRICT")
    )
    occupation_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupation.id", ondelete="RESTRICT")
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    state: Mapped[InvitationState] = mapped_column(enum_column(InvitationState))
    # The link is derived from the secret key and this nonce; a new nonce kills old links.
    nonce: Mapped[str] = mapped_column(String(64))
    # The nonce of the link a resend replaced, so that link can say a newer one was sent.
    previous_nonce: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    resend_count: Mapped[int] = mapped_column(Integer, default=0)
    # Reminder emails sent (same link); the worker counts from sent_at, see invites/reminders.
    reminder_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the inviter was told the invitation expires within a day (once per invitation).
    expiry_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Staff's own words to the person, shown in the email and on the sign-up page.
    message: Mapped[str | None] = mapped_column(Text)
    # The language of its email and sign-up page, picked by staff for the batch.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    accepted_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner_organization: Mapped[PartnerOrganization | None] = relationship()
    occupation: Mapped[Occupation | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    accepted_user: Mapped[User | None] = relationship(foreign_keys=[accepted_user_id])


class validity_seconds(FunctionElement):
    """How long an invitation's link was given when it was sent: expires_at − sent_at in
    whole seconds (rounded), the same number on both databases. Few values occur (the
    configured validity, and any earlier one), so each is one range of an index."""

    type = Integer()
    inherit_cache = True
    name = "validity_seconds"


@compiles(validity_seconds, "postgresql")
def _validity_postgresql(element, compiler, **kw):
    expires, sent = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round(extract(epoch FROM {expires} - {sent})) AS INTEGER)"


@compiles(validity_seconds, "sqlite")
def _validity_sqlite(element, compiler, **kw):
    expires, sent = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round((julianday({expires}) - julianday({sent})) * 86400) AS INTEGER)"


INVITATION_VALIDITY = validity_seconds(Invitation.expires_at, Invitation.sent_at)

# The Expired filter newest first: "expires_at <= now" picks the oldest of the pending
# invitations, so walking ix_invitation_listing back from the newest skipped every one not
# yet expired (200,000 entries at 500,000 invitations, 40 ms warm and 240 ms cold). Within
# one validity, expired means sent before now − validity: a range of this index, read in
# sent order (invitation_listing.expired_ids), and whether it has expired.
Index(
    "ix_invitation_validity",
    Invitation.sponsor_id,
    Invitation.state,
    INVITATION_VALIDITY,
    Invitation.sent_at,
    Invitation.expires_at,
)


class WizardKind(enum.StrEnum):
    TEAMMATES = "teammates"
    EXTERNAL = "external"
    MANAGED = "managed"


class WizardDraft(db.Model):
    """A staff member's unfinished invitation or managed-user lists, kept across reloads.

    One draft a staff member and wizard; its rows form one list per organization (the
    organization open now is partner_organization), so changing the organization never
    moves a row to another one.
    """

    __tablename__ = "wizard_draft"
    __table_args__ = (UniqueConstraint("staff_user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[WizardKind] = mapped_column(enum_column(WizardKind))
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="SET NULL")
    )
    # The row form as typed and not yet added, so that a reload loses nothing.
    typed: Mapped[dict | None] = mapped_column(JSON)
    # The personal message that goes with this batch of invitations.
    message: Mapped[str | None] = mapped_column(Text)
    # The language picked for this batch; None is the sponsor's.
    language: Mapped[str | None] = mapped_column(String(8))
    # Batches sent from this draft so far: the wizard's page carries it, and what a page
    # drawn before the last SEND still sends is known by it (invites.drafts.hold_if_current).
    sent_batches: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
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
    # The organization the person was added for (none for teammates): rows are never moved.
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organization.id", ondelete="CASCADE")
    )
    user_type: Mapped[UserType] = mapped_column(enum_column(UserType))
    email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    occupation_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupation.id", ondelete="CASCADE")
    )

    draft: Mapped[WizardDraft] = relationship(back_populates="rows")
    partner_organization: Mapped[PartnerOrganization | None] = relationship()
    occupation: Mapped[Occupation | None] = relationship()
