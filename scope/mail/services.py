"""The outbox: emails are rows written in the same transaction as the change that causes them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from flask import render_template
from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import func, insert

from .. import i18n
from ..extensions import db
from ..i18n import N_
from ..listing import Listing
from ..models import MailMessage, MailState, Sponsor, utcnow
from ..tenancy import scoped


def development_mailbox_enabled(config) -> bool:
    """Mail stays in the app for staff to read: no SMTP server, and development asked for it."""
    return config.get("MAIL_SERVER") is None and bool(
        config.get("DEV_MAILBOX") or config.get("DEBUG")
    )


# What each kind of email is, in words (the development mailbox lists them).
KINDS = {
    "invitation": N_("Invitation"),
    "invitation_reminder": N_("Invitation reminder"),
    "notice_digest": N_("Daily notices"),
    "set_password": N_("Set password"),
    "recovery": N_("Password recovery"),
    "confirm_email": N_("Confirm a new email address"),
    "email_in_use": N_("Email address in use"),
    "email_changed": N_("Email address changed"),
    "password_changed": N_("Password changed"),
    "public_signup_confirm": N_("Confirm a public-link sign-up"),
    "public_signup_known": N_("Public-link sign-up of a known address"),
    "public_signup_approved": N_("Sign-up approved"),
    "public_signup_declined": N_("Sign-up declined"),
}


# Set on a session whose transaction queued mail: its commit wakes the delivery thread.
QUEUED_IN_TRANSACTION = "scope.mail_queued"


def note_queued_mail(session) -> None:
    session.info[QUEUED_IN_TRANSACTION] = True


def kind_label(kind: str) -> str:
    return gettext(KINDS[kind]) if kind in KINDS else kind.replace("_", " ").capitalize()


def mailbox_state(message: MailMessage) -> str:
    """A message's state as the development mailbox has it: nothing was sent anywhere."""
    if message.state is MailState.DELIVERED:
        return gettext("In this mailbox")
    return message.state.label


def queue_mail(
    kind: str,
    recipient: str,
    subject,
    *,
    language: str | None = None,
    sponsor_id: int | None,
    invitation_id: int | None = None,
    user_id: int | None = None,
    **context,
) -> MailMessage:
    """Add an email to the outbox in the current transaction (no I/O here).

    The kind names its two templates, scope/templates/mail/<kind>.txt and .html, which
    extend the mail layout; `context` is what they show. The subject (often a lazy
    translation) and the parts are written in the recipient's `language` (None: the
    sponsor's; scope.i18n.recipient_language knows the recipient's).
    """
    language = _prepare(sponsor_id, language, context)
    with i18n.writing_in(language):
        subject = str(subject)
        body_text, body_html = _render(kind, context)
    message = MailMessage(
        **_row(kind, recipient, subject, sponsor_id, invitation_id, user_id),
        body_text=body_text,
        body_html=body_html,
    )
    db.session.add(message)
    return message


def _prepare(sponsor_id: int | None, language: str | None, context: dict) -> str | None:
    """The language of an email, and its context completed with the sponsor's time zone."""
    # Times in an email read in its sponsor's zone (the reader's is not known).
    sponsor = db.session.get(Sponsor, sponsor_id) if sponsor_id else None
    context.setdefault("time_zone", sponsor.time_zone if sponsor else "UTC")
    return language or (sponsor.language if sponsor else None)


def _render(kind: str, context: dict) -> tuple[str, str]:
    return (
        render_template(f"mail/{kind}.txt", **context),
        render_template(f"mail/{kind}.html", **context),
    )


def _row(kind, recipient, subject, sponsor_id, invitation_id, user_id) -> dict:
    return {
        "sponsor_id": sponsor_id,
        "kind": kind,
        "recipient": recipient,
        "subject": subject,
        "state": MailState.QUEUED,
        "attempts": 0,
        "invitation_id": invitation_id,
        "user_id": user_id,
    }


class Outbox:
    """Many emails queued by one action (a bulk Resend), written as queue_mail writes each.

    Emails whose context differs only in their link are one letter: it is rendered once
    with a mark where the link goes, and each email gets its own link in its place (half of
    a bulk Resend's time went to rendering the same two templates a thousand times). The
    emails are inserted together when the action calls send(): one statement, not one each.
    """

    def __init__(self):
        self._mark = f"https://link.invalid/{secrets.token_hex(16)}"
        self._now = utcnow()
        self._letters: dict = {}
        self._rows: list[dict] = []

    def queue(
        self,
        kind: str,
        recipient: str,
        subject,
        *,
        language: str | None = None,
        sponsor_id: int | None,
        invitation_id: int | None = None,
        user_id: int | None = None,
        link: str,
        **context,
    ) -> None:
        language = _prepare(sponsor_id, language, context)
        with i18n.writing_in(language):
            subject = str(subject)
            if escape(link) != link:  # the mark would not stand for it: written out
                body_text, body_html = _render(kind, {**context, "link": link})
            else:
                key = (kind, language, subject, *sorted(_keyed(context).items()))
                if key not in self._letters:
                    self._letters[key] = _render(kind, {**context, "link": self._mark})
                body_text, body_html = (
                    part.replace(self._mark, link) for part in self._letters[key]
                )
        self._rows.append(
            {
                **_row(kind, recipient, subject, sponsor_id, invitation_id, user_id),
                "body_text": body_text,
                "body_html": body_html,
                "next_attempt_at": self._now,
                "created_at": self._now,
            }
        )

    def send(self) -> int:
        """Insert the queued emails in the current transaction; how many."""
        if self._rows:
            db.session.execute(insert(MailMessage), self._rows)
            note_queued_mail(db.session)
        count, self._rows = len(self._rows), []
        return count


def _keyed(context: dict) -> dict:
    """The context as a letter's key: records by their table and id, values as they are."""
    return {
        name: (value.__tablename__, value.id) if hasattr(value, "__tablename__") else value
        for name, value in context.items()
    }


def latest_delivery_for_invitations(invitation_ids: Iterable[int]) -> dict[int, MailMessage]:
    """The newest email of each invitation, for the delivery state in the Invitations table."""
    ids = sorted(set(invitation_ids))
    if not ids:
        return {}
    newest = (
        scoped(MailMessage, func.max(MailMessage.id))
        .where(MailMessage.invitation_id.in_(ids))
        .group_by(MailMessage.invitation_id)
    )
    messages = db.session.scalars(scoped(MailMessage).where(MailMessage.id.in_(newest)))
    return {message.invitation_id: message for message in messages}


def mailbox_listing() -> Listing:
    """The current sponsor's emails, newest first, one page of them."""
    listing = Listing.from_request(sorts=("created",), default_sort="created")
    return listing.fetch(
        scoped(MailMessage), order_by=[MailMessage.created_at.desc(), MailMessage.id.desc()]
    )


_URL = re.compile(r"""https?://[^\s<>"']+""")


def linkify(text: str) -> Markup:
    """Plain text with its web addresses made clickable; everything else escaped."""
    parts = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)]")
        parts.append(escape(text[position : match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        position = match.start() + len(url)
    parts.append(escape(text[position:]))
    return Markup("").join(parts)
