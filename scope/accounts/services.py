"""Accounts: set-password and recovery links, password changes."""

from __future__ import annotations

from ..models import MailMessage, User


def send_set_password_link(
    user: User, *, actor_id: int | None, custom_message: str | None = None
) -> MailMessage:
    """Queue the AUTHENTICATE email: a 7-day, single-use link that replaces any older one.

    Sets user.authentication_sent_at and records an 'authentication_sent' audit event.
    Raises NoEmailAddress when the user has no email.
    """
    raise NotImplementedError


class NoEmailAddress(Exception):
    pass
