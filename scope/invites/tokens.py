"""Invitation and public links: derived from the secret key and a per-record nonce.

The database alone cannot rebuild a link (it lacks the key), yet Copy Invitation Link can
show the same link again. A new nonce ends every earlier link of that invitation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from flask import current_app

from ..models import Invitation, PublicLink
from ..tenancy import parse_id

_MAC = re.compile(r"[A-Za-z0-9_-]{43}")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _mac(record_id: int, nonce: str, purpose: str = "invitation") -> str:
    # The purpose is part of the MAC: an invitation's token never opens a public link.
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"{purpose}:{record_id}:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def invitation_token(invitation: Invitation) -> str:
    return f"{invitation.id}.{_mac(invitation.id, invitation.nonce)}"


def invitation_link(invitation: Invitation) -> str:
    return f"{current_app.config['PUBLIC_URL']}/join/{invitation_token(invitation)}"


def parse_token(token: str) -> tuple[int, str] | None:
    """(invitation id, mac) from a token, or None when it cannot be one of ours."""
    if not isinstance(token, str) or len(token) > 80:
        return None
    ident, _, mac = token.partition(".")
    number = parse_id(ident)
    # Ours are 43 characters of URL-safe base64: anything else (an accented letter, which
    # hmac.compare_digest refuses to compare) is no link of ours.
    if number is None or not _MAC.fullmatch(mac):
        return None
    return number, mac


def token_matches(invitation: Invitation, mac: str, nonce: str | None = None) -> bool:
    """Whether the MAC is the invitation's link (or the link of an earlier `nonce`)."""
    nonce = nonce or invitation.nonce
    return hmac.compare_digest(_mac(invitation.id, nonce), mac)


def public_link_token(link: PublicLink, nonce: str | None = None) -> str:
    return f"{link.id}.{_mac(link.id, nonce or link.nonce, 'public-link')}"


def public_link_matches(link: PublicLink, mac: str, nonce: str | None = None) -> bool:
    """Whether the MAC is the public link's (or the link it had with an earlier `nonce`)."""
    expected = _mac(link.id, nonce or link.nonce, "public-link")
    return hmac.compare_digest(expected, mac)
