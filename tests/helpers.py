"""What the fast tests share: logging in, CSRF tokens, row menus, the security sweeps' tables,
an SMTP server and the PostgreSQL switch.

Fixtures live in conftest.py; a test module imports anything else it shares from here, never
from conftest or from another test module.
"""

from __future__ import annotations

import email
import os
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from scope.extensions import db
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    MailMessage,
    MailState,
    Occupation,
    User,
    UserStatus,
    UserType,
    utcnow,
)

# The password of every user the fixtures make.
PASSWORD = "correct horse battery staple"


# --- databases ---------------------------------------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get("SCOPE_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


needs_postgres = pytest.mark.skipif(
    postgres_url() is None,
    reason="needs PostgreSQL: set SCOPE_TEST_DATABASE_URL=postgresql://...",
)


# --- logging in and CSRF -----------------------------------------------------------------------


def csrf_token_from(html: str) -> str | None:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    return match.group(1) if match else None


def csrf_token(client) -> str:
    for page in ("/my/account", "/login"):
        token = csrf_token_from(client.get(page).get_data(as_text=True))
        if token:
            return token
    raise AssertionError("no CSRF token on any page")


class Auth:
    def __init__(self, client, app):
        self.client = client
        self.app = app

    def login(self, email: str, password: str = PASSWORD):
        page = self.client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        return self.client.post("/logout", headers={"X-CSRFToken": self.csrf_token()})

    def csrf_token(self) -> str:
        return csrf_token_from(self.client.get("/login").get_data(as_text=True)) or (
            csrf_token_from(self.client.get("/").get_data(as_text=True))
        )


def login(app, email: str):
    """A new test client logged in as `email` (with PASSWORD)."""
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


class StaffSession:
    """A logged-in staff member: ids, and get/post that send htmx's header and the CSRF token."""

    def __init__(self, client, sponsor_id, user_id):
        self.client = client
        self.sponsor_id = sponsor_id
        self.user_id = user_id
        self._token = None

    @property
    def token(self) -> str:
        if self._token is None:
            html = self.client.get("/invite/").get_data(as_text=True)
            self._token = csrf_token_from(html)
        return self._token

    def get(self, url, htmx=False, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.get(url, headers=headers, **kw)

    def post(self, url, data=None, htmx=False, csrf=True, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        if csrf:
            headers["X-CSRFToken"] = self.token
        return self.client.post(url, data=data or {}, headers=headers, **kw)


# --- pages -------------------------------------------------------------------------------------


def row_menu(html: str, row_id: str) -> list[tuple[str, str, str]]:
    """(label, method, url) of each item a row's Actions menu shows, built as scope.js builds it.

    Rows borrow one menu from a <template> named by their button's data-menu-from: items
    marked data-action appear only when the row lists them in data-actions, and {name}
    placeholders in the items' attributes take the row's data-name values.
    """
    row = re.search(rf'<tr id="{row_id}"([^>]*)>(.*?)</tr>', html, re.S)
    assert row, f"no row {row_id}"
    data = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', row.group(1)))
    source = re.search(r'data-menu-from="([^"]+)"', row.group(2)).group(1)
    menu = re.search(rf'<template id="{source}">(.*?)</template>', html, re.S).group(1)
    offered = data.get("actions", "").split()
    items = []
    for item in re.findall(r"<li role=\"none\"(.*?)</li>", menu, re.S):
        action = re.match(r'\s*data-action="([^"]+)"', item)
        if action and action.group(1) not in offered:
            continue
        item = re.sub(r"\{(\w+)\}", lambda m: data.get(m.group(1), m.group(0)), item)
        label = re.sub(r"<[^>]+>", "", item.split(">", 1)[1]).strip()
        how = re.search(r'(href|hx-get|hx-post)="([^"]+)"', item)
        items.append((label, "POST" if how.group(1) == "hx-post" else "GET", how.group(2)))
    return items


# --- the security sweeps: who may reach what, every URL of every rule ----------------------

# Who may reach what, by endpoint. Any endpoint not named here is a staff page: a route added
# later is staff-only until someone says otherwise here, and the sweep checks it is.
PUBLIC = {
    "static",
    "auth.home",
    "auth.login",
    "accounts.forgot_password",
    "accounts.set_password",
    "accounts.recover",
    "join.sign_up",
    "join.reviewed",
}
ANY_ACCOUNT = {
    "auth.logout",
    "accounts.my_account",
    "accounts.edit_name",
    "accounts.change_password",
}
PARTNER_ONLY = {"accounts.my_organization", "accounts.edit_my_organization"}
ADMINISTRATOR_ONLY = {"accounts.edit_my_organization"}
PARTNER_TYPES = [UserType.ADMINISTRATOR, UserType.SUPERVISOR, UserType.MENTOR, UserType.PROVIDER]
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Words that only the other sponsor's records contain.
SECRET = "zanzibar"


def rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def expand(rule, ids: dict) -> list[str]:
    """Every URL of a rule: each option of an any() converter, ids from one sponsor."""
    urls = [rule.rule]
    for name, converter in rule._converters.items():
        options = sorted(converter.items) if hasattr(converter, "items") else [ids[name]]
        pattern = re.compile(r"<(?:[^:<>]+:)?" + name + r">")
        urls = [pattern.sub(lambda _m, o=o: str(o), url) for url in urls for o in options]
    return urls


@dataclass
class Tenant:
    sponsor_id: int
    staff_id: int
    organization_id: int
    occupation_id: int
    users: dict = field(default_factory=dict)
    invitation_id: int = 0
    message_id: int = 0
    row_id: int = 0

    def ids(self) -> dict:
        return {
            "organization_id": self.organization_id,
            "user_id": self.users[UserType.SUPERVISOR],
            "invitation_id": self.invitation_id,
            "message_id": self.message_id,
            "row_id": self.row_id,
            "token": "x" * 43,
            "filename": "scope.js",
        }


def make_tenant(app, make_sponsor, make_user, make_org, label: str) -> Tenant:
    """A sponsor with one of everything: staff, each partner user type, a managed user, an
    invitation with its email, an audit event; every name and address carries `label`."""
    sponsor_id = make_sponsor(f"{label} Sponsor")
    staff_id = make_user(f"staff@{label}.example.com", sponsor_id=sponsor_id, last_name=label)
    organization_id = make_org(sponsor_id, f"{label} Employer")
    with app.app_context():
        occupation_id = db.session.scalar(
            select(Occupation.id).where(Occupation.sponsor_id == sponsor_id).limit(1)
        )
    tenant = Tenant(sponsor_id, staff_id, organization_id, occupation_id)
    for user_type in PARTNER_TYPES:
        tenant.users[user_type] = make_user(
            f"{user_type.value}@{label}.example.com",
            sponsor_id=sponsor_id,
            user_type=user_type,
            organization_id=organization_id,
            occupation_id=occupation_id if user_type is UserType.MENTOR else None,
            last_name=label,
        )
    tenant.users["managed"] = make_user(
        f"managed@{label}.example.com",
        sponsor_id=sponsor_id,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        organization_id=organization_id,
        with_password=False,
        last_name=label,
    )
    with app.app_context():
        invitation = Invitation(
            sponsor_id=sponsor_id,
            email=f"invited@{label}.example.com",
            pending_email=f"invited@{label}.example.com",
            user_type=UserType.SUPERVISOR,
            partner_organization_id=organization_id,
            invited_by_id=staff_id,
            state=InvitationState.PENDING,
            nonce=uuid.uuid4().hex,
            sent_at=utcnow(),
            expires_at=utcnow() + timedelta(days=14),
            resend_count=0,
        )
        db.session.add(invitation)
        db.session.flush()
        message = MailMessage(
            sponsor_id=sponsor_id,
            kind="invitation",
            recipient=f"invited@{label}.example.com",
            subject=f"Join {label}",
            body_text=f"Hello from {label}",
            body_html=f"<p>Hello from {label}</p>",
            state=MailState.DELIVERED,
            invitation_id=invitation.id,
        )
        db.session.add(message)
        db.session.add(
            AuditEvent(
                sponsor_id=sponsor_id,
                actor_id=staff_id,
                action="deactivated",
                subject_type="user",
                subject_id=tenant.users[UserType.SUPERVISOR],
                details={"note": label},
            )
        )
        db.session.commit()
        tenant.invitation_id, tenant.message_id = invitation.id, message.id
    return tenant


def add_draft_row(app, tenant: Tenant, email: str) -> None:
    """One row in the tenant's staff member's INVITE → Teammates draft."""
    from scope.invites import services
    from scope.models import WizardKind

    with app.app_context():
        staff = db.session.get(User, tenant.staff_id)
        draft = services.get_draft(staff, WizardKind.TEAMMATES)
        services.add_row(draft, user_type=UserType.STAFF, email=email)
        db.session.commit()
        tenant.row_id = draft.rows[0].id


# --- mail --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """An SMTP handler that keeps what it receives and refuses what the test tells it to."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.received: list[email.message.EmailMessage] = []
        self.rcpt_answers: dict[str, str] = {}
        self.data_answers: dict[str, str] = {}
        self.on_data = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_answers:
            return self.rcpt_answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.data_answers:
                return self.data_answers[rcpt]
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append(message)
        if self.on_data:
            self.on_data(message)
        return "250 Message accepted for delivery"

    @property
    def recipients(self) -> list[str]:
        with self.lock:
            return [str(message["To"]) for message in self.received]


class SMTPServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.sink = Sink()
        self.sink.port = self.port
        self.controller = None

    def start(self):
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def bulk_outbox(app, sponsor_id: int, count: int) -> None:
    """`count` queued messages in one statement, to person0@example.com and on."""
    with app.app_context():
        db.session.execute(
            MailMessage.__table__.insert(),
            [
                {
                    "sponsor_id": sponsor_id,
                    "kind": "invitation",
                    "recipient": f"person{i}@example.com",
                    "subject": f"Message {i}",
                    "body_text": "Hello",
                    "body_html": "<p>Hello</p>",
                    "state": "queued",
                    "attempts": 0,
                    "next_attempt_at": utcnow(),
                    "created_at": utcnow(),
                }
                for i in range(count)
            ],
        )
        db.session.commit()
