"""What happened and what is sent: audit events, account links, the outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import N_, gettext
from .base import UTCDateTime, enum_column, utcnow
from .invitations import Invitation
from .people import User


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


class AccountTokenPurpose(enum.StrEnum):
    SET_PASSWORD = "set_password"
    RECOVERY = "recovery"
    # Staff changed the login address of an account: its new owner confirms it.
    CHANGE_EMAIL = "change_email"


class AccountToken(db.Model):
    """Set-password, recovery and email-confirmation links; only a hash of the token is
    stored."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[AccountTokenPurpose] = mapped_column(enum_column(AccountTokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # CHANGE_EMAIL: the address that becomes the login once the link is used.
    new_email: Mapped[str | None] = mapped_column(String(254))

    user: Mapped[User] = relationship()


class MailState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return gettext(_MAIL_STATE_LABELS[self])


# Translated when read (N_ only marks them for the catalog).
_MAIL_STATE_LABELS = {
    MailState.QUEUED: N_("Queued"),
    MailState.SENDING: N_("Sending"),
    MailState.DELIVERED: N_("Delivered"),
    MailState.FAILED: N_("Failed"),
}


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
    state: Mapped[MailState] = mapped_column(enum_column(MailState))
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


class Notice(db.Model):
    """Something a staff member should know about (Notifications), e.g. an invitation accepted."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    # The English wording, kept as written; `params` are the details it is worded from in
    # the reader's language (scope.notices.messages). Old rows have no params.
    stored_text: Mapped[str] = mapped_column("text", String(500))
    params: Mapped[dict | None] = mapped_column(JSON)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL")
    )
    # The account the notice is about (an accepted invitation's new account).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sent in a daily digest email (digest readers get no unread count for it).
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invitation: Mapped[Invitation | None] = relationship()

    # notice.text reads in the language of the page or email showing it; Notice.text in a
    # query is the stored English.
    @hybrid_property
    def text(self) -> str:
        from ..notices.messages import read

        return read(self.kind, self.params, self.stored_text)

    @text.inplace.setter
    def _text_setter(self, value: str) -> None:
        self.stored_text = value

    @text.inplace.expression
    @classmethod
    def _text_expression(cls):
        return cls.stored_text
