"""Reminder emails for pending invitations, produced by the mail worker's periodic step.

A pending invitation gets its k-th reminder INVITATION_REMINDER_DAYS[k] days after it was
sent (and not sooner after the previous reminder than the days between them, so a worker
that was down for a week does not send two at once). Never to a revoked, accepted or expired
invitation, nor for a sponsor whose staff turned reminders off.

Exactly once each: the reminder count is raised by a compare-and-set UPDATE in the same
transaction that queues the email, on rows claimed with FOR UPDATE SKIP LOCKED (PostgreSQL)
or under the write lock (SQLite, BEGIN IMMEDIATE). A worker killed before its commit leaves
neither the count nor the email, and the next pass sends it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, text, update

from .. import audit
from ..extensions import db
from ..mail.services import queue_mail
from ..models import Invitation, InvitationState, MailMessage, Sponsor, utcnow
from .tokens import invitation_link


def reminder_days() -> list[float]:
    return sorted(current_app.config["INVITATION_REMINDER_DAYS"])


def _due(now: datetime):
    """Pending, not expired, of a sponsor that wants reminders, and its next one is due."""
    days = reminder_days()
    steps = []
    for k, day in enumerate(days):
        step = (Invitation.reminder_count == k) & (Invitation.sent_at <= now - timedelta(days=day))
        if k:
            gap = timedelta(days=day - days[k - 1])
            step &= or_(Invitation.reminded_at.is_(None), Invitation.reminded_at <= now - gap)
        steps.append(step)
    return (
        (Invitation.state == InvitationState.PENDING)
        & (Invitation.expires_at > now)
        & Invitation.sponsor_id.in_(select(Sponsor.id).where(Sponsor.invitation_reminders))
        & or_(*steps)
    )


def queue_due_reminders(batch_size: int = 200) -> int:
    """Queue the reminders that are due now (up to batch_size); commits; returns how many."""
    if not reminder_days():
        return 0
    session = db.session
    now = utcnow()
    # A cheap look first, so an idle pass never takes SQLite's write lock.
    if session.scalar(select(Invitation.id).where(_due(now)).limit(1)) is None:
        session.rollback()
        return 0
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    now = utcnow()
    invitations = session.scalars(
        select(Invitation)
        .where(_due(now))
        .order_by(Invitation.sent_at, Invitation.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    queued = 0
    for invitation in invitations:
        claimed = session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.reminder_count == invitation.reminder_count,
                Invitation.state == InvitationState.PENDING,
                Invitation.nonce == invitation.nonce,
            )
            .values(reminder_count=Invitation.reminder_count + 1, reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        number = invitation.reminder_count + 1
        queue_reminder_email(invitation, number)
        audit.record("reminded", invitation, actor_id=None, reminder=number)
        queued += 1
    session.commit()
    return queued


def queue_reminder_email(invitation: Invitation, number: int) -> MailMessage:
    """The same link as the invitation's own email (a reminder never replaces it)."""
    sponsor = db.session.get(Sponsor, invitation.sponsor_id)
    organization = invitation.partner_organization
    inviter = invitation.invited_by
    return queue_mail(
        kind="invitation_reminder",
        recipient=invitation.email,
        subject=_l("Reminder: %(sponsor)s invites you to Scope", sponsor=sponsor.name),
        language=invitation.language,
        sponsor_id=invitation.sponsor_id,
        invitation_id=invitation.id,
        sponsor=sponsor,
        where=organization.name if organization else sponsor.name,
        user_type=invitation.user_type,
        inviter=inviter,
        sent_at=invitation.sent_at,
        link=invitation_link(invitation),
        expires_at=invitation.expires_at,
        number=number,
    )
