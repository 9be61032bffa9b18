"""Notices for staff: what happened to the invitations they sent, shown under Notifications
or, for those who chose it, sent as one email a day.

Notices are written in the transaction of what they tell (an acceptance, a failed delivery);
the periodic ones (invitations expiring within a day, the daily digest) are made by the mail
worker's periodic step, exactly once each: the rows are claimed with a compare-and-set
UPDATE (on PostgreSQL after FOR UPDATE SKIP LOCKED, on SQLite under BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask import current_app
from flask_babel import LazyString, ngettext
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import selectinload

from .. import i18n
from ..extensions import db
from ..mail.services import queue_mail
from ..models import (
    Invitation,
    InvitationState,
    Notice,
    Sponsor,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from ..templating import format_number
from ..tenancy import parse_id, scoped
from . import messages

DIGEST_EVERY = timedelta(days=1)
EXPIRY_WARNING = timedelta(days=1)


def notify(
    user_id: int | None,
    sponsor_id: int,
    kind: str,
    params: dict | str,
    *,
    invitation_id: int | None = None,
    account_id: int | None = None,
) -> Notice | None:
    """Tell one staff member of this sponsor; nobody else ever gets the notice. `params`
    are the details scope.notices.messages words the kind of notice from, in each reader's
    language; a text is shown as it is, whoever reads it."""
    if user_id is None:
        return None
    recipient = db.session.get(User, user_id)
    if (
        recipient is None
        or recipient.sponsor_id != sponsor_id
        or recipient.user_type is not UserType.STAFF
        or recipient.status is not UserStatus.ACTIVE
    ):
        return None
    now = utcnow()
    notice = Notice(
        sponsor_id=sponsor_id,
        user_id=recipient.id,
        kind=kind,
        text=(messages.in_english(kind, params) if isinstance(params, dict) else params)[:500],
        params=params if isinstance(params, dict) else None,
        invitation_id=invitation_id,
        account_id=account_id,
        created_at=now,
        # A digest reader gets it by email, not as an unread notice.
        read_at=now if recipient.notice_digest else None,
    )
    db.session.add(notice)
    return notice


def _where(invitation: Invitation) -> dict:
    organization = invitation.partner_organization
    return messages.where(organization.name if organization else None, invitation.user_type)


def invitation_accepted(invitation: Invitation, account: User) -> Notice | None:
    return notify(
        invitation.invited_by_id,
        invitation.sponsor_id,
        "accepted",
        {"name": account.full_name, **_where(invitation)},
        invitation_id=invitation.id,
        account_id=account.id,
    )


def invitation_undeliverable(invitation: Invitation, error: str | None) -> Notice | None:
    return notify(
        invitation.invited_by_id,
        invitation.sponsor_id,
        "undeliverable",
        {"email": invitation.email, "error": error},
        invitation_id=invitation.id,
    )


def _link_where(link) -> dict:
    occupation = link.occupation.name if link.occupation else None
    return messages.where(link.partner_organization.name, link.user_type, occupation)


# What happens to a public link and its sign-ups is told to the staff member who created the
# link, unless they did it themselves.
def public_signup_waiting(signup) -> Notice | None:
    link = signup.public_link
    return notify(
        link.created_by_id,
        link.sponsor_id,
        "awaiting_approval",
        {"name": signup.full_name, **_link_where(link)},
    )


def public_signup_decided(signup, actor: User, account: User | None) -> Notice | None:
    link = signup.public_link
    if link.created_by_id == actor.id:
        return None
    decided = "approved" if account is not None else "declined"
    return notify(
        link.created_by_id,
        link.sponsor_id,
        decided,
        {"actor": actor.full_name, "name": signup.full_name, **_link_where(link)},
        account_id=account.id if account is not None else None,
    )


def public_link_changed(link, actor: User, change: str) -> Notice | None:
    """change: "disabled" or "rotated"."""
    if link.created_by_id == actor.id:
        return None
    return notify(
        link.created_by_id,
        link.sponsor_id,
        f"link_{change}",
        {"actor": actor.full_name, **_link_where(link)},
    )


def queue_expiry_notices(batch_size: int = 500) -> int:
    """Tell each inviter how many of their pending invitations expire within a day.

    Commits; returns the number of invitations told about.
    """
    session = db.session
    now = utcnow()
    due = (
        (Invitation.state == InvitationState.PENDING)
        & (Invitation.expires_at > now)
        & (Invitation.expires_at <= now + EXPIRY_WARNING)
        & Invitation.expiry_noticed_at.is_(None)
        & Invitation.invited_by_id.is_not(None)
    )
    if session.scalar(select(Invitation.id).where(due).limit(1)) is None:
        session.rollback()
        return 0
    session.rollback()
    _write_lock()
    ids = session.scalars(
        select(Invitation.id)
        .where(due)
        .order_by(Invitation.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id.in_(ids), Invitation.expiry_noticed_at.is_(None))
        .values(expiry_noticed_at=now)
        .returning(Invitation.id, Invitation.sponsor_id, Invitation.invited_by_id)
        .execution_options(synchronize_session=False)
    ).all()
    by_inviter: dict[tuple[int, int], list[int]] = defaultdict(list)
    for invitation_id, sponsor_id, inviter_id in claimed:
        by_inviter[(sponsor_id, inviter_id)].append(invitation_id)
    for (sponsor_id, inviter_id), invitation_ids in by_inviter.items():
        count = len(invitation_ids)
        notify(
            inviter_id,
            sponsor_id,
            "expiring",
            {"count": count},
            invitation_id=invitation_ids[0] if count == 1 else None,
        )
    session.commit()
    return len(claimed)


def queue_digests(batch_size: int = 100) -> int:
    """One email a day to each staff member who chose the digest and has new notices.

    Commits; returns how many digests were queued.
    """
    session = db.session
    now = utcnow()
    due = (
        User.notice_digest.is_(True)
        & (User.status == UserStatus.ACTIVE)
        & ((User.notice_digest_at.is_(None)) | (User.notice_digest_at <= now - DIGEST_EVERY))
        & User.id.in_(select(Notice.user_id).where(Notice.emailed_at.is_(None)))
    )
    if session.scalar(select(User.id).where(due).limit(1)) is None:
        session.rollback()
        return 0
    session.rollback()
    _write_lock()
    readers = session.scalars(
        select(User).where(due).limit(batch_size).with_for_update(of=User, skip_locked=True)
    ).all()
    queued = 0
    for reader in readers:
        claimed = session.execute(
            update(User)
            .where(
                User.id == reader.id,
                User.notice_digest_at.is_not_distinct_from(reader.notice_digest_at),
            )
            .values(notice_digest_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        notices = session.scalars(
            select(Notice)
            .where(Notice.user_id == reader.id, Notice.emailed_at.is_(None))
            .order_by(Notice.id)
        ).all()
        if not notices:
            continue
        session.execute(
            update(Notice)
            .where(Notice.id.in_([n.id for n in notices]))
            .values(emailed_at=now)
            .execution_options(synchronize_session=False)
        )
        sponsor = session.get(Sponsor, reader.sponsor_id)
        queue_mail(
            kind="notice_digest",
            recipient=reader.email,
            subject=LazyString(_digest_subject, len(notices)),
            language=i18n.recipient_language(user=reader, sponsor=sponsor),
            sponsor_id=reader.sponsor_id,
            user_id=reader.id,
            sponsor=sponsor,
            time_zone=reader.time_zone or sponsor.time_zone,
            reader=reader,
            notices=notices,
            link=current_app.config["PUBLIC_URL"] + "/notifications",
        )
        queued += 1
    session.commit()
    return queued


def _digest_subject(count: int) -> str:
    """Worded when the email is written, in its reader's language."""
    return ngettext(
        "Scope: %(count)s new notice",
        "Scope: %(count)s new notices",
        count,
        count=format_number(count),
    )


def _write_lock() -> None:
    """SQLite: take the write lock before reading, so two workers never claim the same rows."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("BEGIN IMMEDIATE"))


# --- what staff see -------------------------------------------------------------------------


def _mine(user: User):
    return scoped(Notice).where(Notice.user_id == user.id)


def unread_count(user: User) -> int:
    stmt = _mine(user).where(Notice.read_at.is_(None)).with_only_columns(func.count())
    return db.session.scalar(stmt) or 0


def recent_notices(user: User, limit: int = 50) -> list[Notice]:
    stmt = _mine(user).options(selectinload(Notice.invitation))
    return list(db.session.scalars(stmt.order_by(Notice.id.desc()).limit(limit)))


def my_notice(user: User, notice_id) -> Notice | None:
    """One of this person's own notices; anyone else's is as absent as a missing one."""
    ident = parse_id(notice_id)
    if ident is None:
        return None
    return db.session.scalar(_mine(user).where(Notice.id == ident))


def mark_read(notice: Notice) -> None:
    if notice.read_at is None:
        notice.read_at = utcnow()


def mark_all_read(user: User, shown_up_to: int | None = None) -> int:
    """Mark read every unread notice of this user up to the newest the list showed
    (`shown_up_to`, its id): one that arrived while the list was open stays unread. (Ids are
    given in order, not committed in order: a notice whose transaction was still open when
    the list was drawn could have a smaller id; it is marked read with the others.)"""
    mine = [Notice.sponsor_id == user.sponsor_id, Notice.user_id == user.id]
    if shown_up_to is not None:
        mine.append(Notice.id <= shown_up_to)
    result = db.session.execute(
        update(Notice)
        .where(*mine, Notice.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def set_digest(user: User, digest: bool) -> None:
    """Notices by email once a day instead of the Notifications count, or back."""
    if digest == user.notice_digest:
        return
    now = utcnow()
    mine = (
        update(Notice)
        .where(Notice.sponsor_id == user.sponsor_id, Notice.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    if digest:
        # What was read stays out of the email; what was unread goes in the next one.
        db.session.execute(
            mine.where(Notice.read_at.is_not(None), Notice.emailed_at.is_(None)).values(
                emailed_at=now
            )
        )
        db.session.execute(mine.where(Notice.read_at.is_(None)).values(read_at=now))
    else:
        # What was waiting for the email counts as unread again.
        db.session.execute(
            mine.where(Notice.emailed_at.is_(None), Notice.read_at.is_not(None)).values(
                read_at=None, emailed_at=now
            )
        )
    user.notice_digest = digest
