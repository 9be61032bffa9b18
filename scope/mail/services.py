"""The outbox: emails are rows written in the same transaction as the change that causes them."""

from __future__ import annotations

from flask import render_template

from ..extensions import db
from ..models import MailMessage, MailState


def queue_mail(
    *,
    kind: str,
    recipient: str,
    subject: str,
    template: str,
    sponsor_id: int | None,
    invitation_id: int | None = None,
    user_id: int | None = None,
    **context,
) -> MailMessage:
    """Add an email to the outbox in the current transaction (no I/O here).

    `template` names a pair scope/templates/mail/<template>.txt and .html.
    """
    message = MailMessage(
        sponsor_id=sponsor_id,
        kind=kind,
        recipient=recipient,
        subject=subject,
        body_text=render_template(f"mail/{template}.txt", **context),
        body_html=render_template(f"mail/{template}.html", **context),
        state=MailState.QUEUED,
        attempts=0,
        invitation_id=invitation_id,
        user_id=user_id,
    )
    db.session.add(message)
    return message
