"""How much mail staff actions may send: per sponsor per day, and per address per day.

Every email a staff action causes (an invitation, a resend, a set-password link, a new
address to confirm) is counted here, from the outbox itself, before it is queued. So a
stolen staff session cannot mail thousands of strangers, nor one person fifteen times,
whichever button it uses. The sponsor's row is locked while counting, so two requests of
one sponsor cannot both take the last places.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from ..extensions import db
from ..models import MailMessage, Sponsor, utcnow
from ..refusals import Refused
from ..templating import format_number

# The kinds of email a staff action sends (recovery and notices are not staff's doing).
STAFF_KINDS = ("invitation", "set_password", "confirm_email", "email_in_use")
# Emails of one kind to one address in 24 hours: the first and three more.
PER_ADDRESS_PER_DAY = 4
DAY = timedelta(days=1)


class MailCapReached(Refused):
    """Sending these would pass the sponsor's daily allowance."""

    status = 429


def daily_cap() -> int:
    return int(current_app.config["EMAILS_PER_SPONSOR_PER_DAY"])


def reserve(sponsor_id: int, count: int, field: str | None = None) -> None:
    """Make sure `count` more staff emails fit in the sponsor's day, or MailCapReached
    (about `field` of a form, when a form asked)."""
    if count <= 0:
        return
    db.session.execute(select(Sponsor.id).where(Sponsor.id == sponsor_id).with_for_update())
    sent = db.session.scalar(
        select(func.count(MailMessage.id)).where(
            MailMessage.sponsor_id == sponsor_id,
            MailMessage.kind.in_(STAFF_KINDS),
            MailMessage.created_at >= utcnow() - DAY,
        )
    )
    cap = daily_cap()
    if sent + count > cap:
        left = max(cap - sent, 0)
        raise MailCapReached(
            ngettext(
                "Too many emails: your sponsor may send %(cap)s a day and has sent %(sent)s in "
                "the last 24 hours, so %(count)s email would be too many (%(left)s left). "
                "Send fewer, or try again tomorrow.",
                "Too many emails: your sponsor may send %(cap)s a day and has sent %(sent)s in "
                "the last 24 hours, so %(count)s emails would be too many (%(left)s left). "
                "Send fewer, or try again tomorrow.",
                count,
                count=format_number(count),
                cap=format_number(cap),
                sent=format_number(sent),
                left=format_number(left),
            ),
            field,
        )


def sent_today(sponsor_id: int, kind: str, recipients: Iterable[str]) -> dict[str, int]:
    """How many emails of this kind each address got from the sponsor in the last 24 hours."""
    recipients = sorted(set(recipients))
    counts: dict[str, int] = {}
    for start in range(0, len(recipients), 500):
        stmt = (
            select(MailMessage.recipient, func.count(MailMessage.id))
            .where(
                MailMessage.sponsor_id == sponsor_id,
                MailMessage.kind == kind,
                MailMessage.recipient.in_(recipients[start : start + 500]),
                MailMessage.created_at >= utcnow() - DAY,
            )
            .group_by(MailMessage.recipient)
        )
        counts.update(db.session.execute(stmt).all())
    return counts


def address_refusal(
    sponsor_id: int, kind: str, recipient: str, field: str | None = None
) -> Refused | None:
    """Why this address may not get another email of this kind today, or None."""
    return address_refusals(sponsor_id, kind, [recipient], field).get(recipient)


def address_refusals(
    sponsor_id: int,
    kind: str,
    recipients: Iterable[str],
    field: str | None = None,
    *,
    existing: bool = True,
) -> dict[str, Refused]:
    """Why each of these addresses that may not get another email of this kind today may
    not (a SEND of many rows asks once). `existing`: the email is of a record that exists
    (a Resend), whose invitation link can be copied instead."""
    return {
        recipient: _refusal(kind, sent, field, existing)
        for recipient, sent in sent_today(sponsor_id, kind, recipients).items()
        if sent >= PER_ADDRESS_PER_DAY
    }


def _refusal(kind: str, sent: int, field: str | None, existing: bool) -> Refused:
    if kind == "invitation" and existing:
        message = gettext(
            "This address already got %(sent)s of these emails in the last 24 hours. "
            "Try again tomorrow, or use Copy Invitation Link.",
            sent=format_number(sent),
        )
    else:
        message = gettext(
            "This address already got %(sent)s of these emails in the last 24 hours. "
            "Try again tomorrow.",
            sent=format_number(sent),
        )
    return Refused(message, field)
