"""What the fast tests share: logging in, CSRF tokens, row menus, the security sweeps' tables,
an SMTP server and the PostgreSQL switch.

Fixtures live in conftest.py; a test module imports anything else it shares from here, never
from conftest or from another test module.
"""

from __future__ import annotations

import email
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy

import lxml.html
import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from lxml.html import HtmlElement
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from scope.extensions import db
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    MailMessage,
    MailState,
    Notice,
    Occupation,
    PublicLink,
    PublicSignup,
    SignupState,
    User,
    UserStatus,
    UserType,
    utcnow,
)

# The password of every user the fixtures make.
PASSWORD = "correct horse battery staple"
# Fixture users only: a hash that takes half a millisecond to check instead of scrypt's 100 ms,
# so logging them in is cheap. Scope's own hashing and checking are unchanged (werkzeug checks
# either kind); passwords set through Scope in a test are still hashed with scrypt.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


# --- databases ---------------------------------------------------------------------------------


def redis_url() -> str:
    """The Redis the tests share limits through (a database of their own)."""
    return os.environ.get("SCOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def postgres_url() -> str | None:
    url = os.environ.get("SCOPE_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


needs_postgres = pytest.mark.skipif(
    postgres_url() is None,
    reason="needs PostgreSQL: set SCOPE_TEST_DATABASE_URL=postgresql://...",
)


# --- pages: HTML through a parser ------------------------------------------------------------
#
# Markup (elements, attributes, ids, the order of rows) is asserted through lxml's HTML parser
# and CSS selectors, never with a regular expression over the HTML. Sentences a person reads
# are checked with `in` on the body as served, which also covers attributes when a test says
# something is absent; where HTML escaping gets in the way (an apostrophe served as &#39;), or
# a sentence has a varying part, on the page's text: text_of(response).


def parse(source) -> HtmlElement:
    """A response's body, or an HTML string, parsed into a document.

    libxml2 keeps the markup as it was sent (no <tbody> added, a fragment's <tr> stays a
    <tr>): a fragment's elements are the children of the <body> it supplies, in order.
    """
    if isinstance(source, HtmlElement):
        return source
    markup = source if isinstance(source, str) else source.get_data(as_text=True)
    return lxml.html.document_fromstring(markup if markup.strip() else "<body></body>")


def elements(source, selector: str) -> list[HtmlElement]:
    """Every element a CSS selector matches, in document order."""
    return parse(source).cssselect(selector)


def element(source, selector: str) -> HtmlElement:
    """The first element a CSS selector matches; fails when there is none."""
    found = elements(source, selector)
    assert found, f"nothing matches {selector!r}"
    return found[0]


def text_of(source, selector: str | None = None) -> str:
    """The text of the page, or of the first element a selector matches, as a person reads it:
    entities decoded, tags gone, runs of white space made one space."""
    node = parse(source) if selector is None else element(source, selector)
    return " ".join(node.text_content().split())


def texts(source, selector: str) -> list[str]:
    """The text of every element a selector matches, in document order."""
    return [" ".join(node.text_content().split()) for node in elements(source, selector)]


def is_whole_page(source) -> bool:
    """A whole page (the layout's <html> with its <head>), not an htmx fragment."""
    return parse(source).find("head") is not None


def fragment_elements(source) -> list[HtmlElement]:
    """The top-level elements of an htmx fragment, in the order they were sent."""
    document = parse(source)
    assert not is_whole_page(document), "a whole page, not a fragment"
    return list(document.body)


def field_error(source, field: str) -> str | None:
    """The message shown beside a form field (its <p class="error" id="FIELD-error">), if any."""
    found = elements(source, f'p.error[id="{field}-error"]')
    return " ".join(found[0].text_content().split()) if found else None


def row_menu(source, row_id: str) -> list[tuple[str, str, str]]:
    """(label, method, url) of each item a row's Actions menu shows, built as scope.js builds it.

    Rows borrow one menu from a <template> named by their button's data-menu-from: items
    marked data-action appear only when the row lists them in data-actions, and {name}
    placeholders in the items' attributes take the row's data-name values.
    """
    document = parse(source)
    rows = document.cssselect(f'tr[id="{row_id}"]')
    assert rows, f"no row {row_id}"
    row = rows[0]
    data = {name[5:]: value for name, value in row.attrib.items() if name.startswith("data-")}
    # The menu and the rows' url may be named by the table body instead of each row.
    button = row.cssselect("[aria-haspopup]")[0]
    holder = (
        next(e for e in button.iterancestors() if e.get("data-menu-from"))
        if not button.get("data-menu-from")
        else button
    )
    table_body = next((e for e in row.iterancestors() if e.get("data-rows-url")), None)
    if "url" not in data and table_body is not None:
        data["url"] = f"{table_body.get('data-rows-url')}/{row_id.rsplit('-', 1)[1]}"

    def fill(value: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: data.get(m.group(1), m.group(0)), value)

    source_id = holder.get("data-menu-from")
    menu = document.cssselect(f'template[id="{source_id}"]')[0]
    offered = data.get("actions", "").split()
    items = []
    for item in menu.cssselect('li[role="none"]'):
        if item.get("data-action") and item.get("data-action") not in offered:
            continue
        control = item.cssselect("[href], [hx-get], [hx-post]")[0]
        how = next(name for name in ("href", "hx-get", "hx-post") if control.get(name))
        label = fill(" ".join(item.text_content().split()))
        items.append((label, "POST" if how == "hx-post" else "GET", fill(control.get(how))))
    return items


# --- logging in and CSRF -----------------------------------------------------------------------


def csrf_token(source) -> str | None:
    """The CSRF token a page carries: its form's hidden csrf_token field, else the X-CSRFToken
    header htmx sends from the body's hx-headers; None when it has neither.

    Given a test client, the token of its session, read from /my/account or /login (one of
    them has a form, logged in or not).
    """
    if isinstance(source, FlaskClient):
        for path in ("/my/account", "/login"):
            token = csrf_token(source.get(path))
            if token:
                return token
        raise AssertionError("no CSRF token on any page")
    document = parse(source)
    for hidden in document.cssselect('input[name="csrf_token"]'):
        return hidden.get("value")
    for holder in document.cssselect("[hx-headers]"):
        token = json.loads(holder.get("hx-headers")).get("X-CSRFToken")
        if token:
            return token
    return None


class Auth:
    def __init__(self, client, app):
        self.client = client
        self.app = app

    def login(self, email: str, password: str = PASSWORD):
        token = csrf_token(self.client.get("/login"))
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        return self.client.post("/logout", headers={"X-CSRFToken": self.csrf_token()})

    def csrf_token(self) -> str:
        return csrf_token(self.client)


def login(app, email: str):
    """A new test client logged in as `email` (with PASSWORD)."""
    client = app.test_client()
    token = csrf_token(client.get("/login"))
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
            self._token = csrf_token(self.client.get("/invite/"))
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


# --- the security sweeps: who may reach what, every URL of every rule ----------------------

# Who may reach what, by endpoint. Any endpoint not named here is a staff page: a route added
# later is staff-only until someone says otherwise here, and the sweep checks it is.
PUBLIC = {
    "static",
    "favicon",
    "auth.home",
    "auth.login",
    "auth.language",
    "accounts.forgot_password",
    "accounts.set_password",
    "accounts.recover",
    "accounts.confirm_email",
    "join.sign_up",
    "join.reviewed",
    "signup.sign_up",
    "signup.confirm",
}
ANY_ACCOUNT = {
    "auth.logout",
    "accounts.my_account",
    "accounts.edit_name",
    "accounts.edit_time_zone",
    "accounts.edit_language",
    "accounts.change_password",
}
PARTNER_ONLY = {"accounts.my_organization", "accounts.edit_my_organization"}
# Staff pages a partner administrator reaches too when their sponsor lets them invite: the
# external wizard (never Teammates or Managed) and MANAGE → Invitations.
PARTNER_INVITER = {
    "invites.index",
    "invites.external",
    "invites.external_users",
    "invites.add_row",
    "invites.remove_row",
    "invites.typed",
    "invites.add_addresses",
    "invites.send",
    "invites.csv_template",
    "invites.upload",
    "invites.add_valid_rows",
    "manage.invitations",
    "manage.revoke_invitation",
    "manage.resend_invitation",
    "manage.confirm_revoke",
    "manage.invitation_link",
}
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
    link_id: int = 0
    signup_id: int = 0
    notice_id: int = 0

    def ids(self) -> dict:
        return {
            "organization_id": self.organization_id,
            "occupation_id": self.occupation_id,
            "user_id": self.users[UserType.SUPERVISOR],
            "invitation_id": self.invitation_id,
            "message_id": self.message_id,
            "row_id": self.row_id,
            "link_id": self.link_id,
            "signup_id": self.signup_id,
            "notice_id": self.notice_id,
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
        link = PublicLink(
            sponsor_id=sponsor_id,
            partner_organization_id=organization_id,
            user_type=UserType.SUPERVISOR,
            nonce=uuid.uuid4().hex,
            signup_count=1,
            allowed_domains=f"{label}.example.com",
            require_approval=True,
            created_by_id=staff_id,
        )
        db.session.add(link)
        db.session.flush()
        signup = PublicSignup(
            sponsor_id=sponsor_id,
            public_link_id=link.id,
            email=f"waiting@{label}.example.com",
            pending_email=f"waiting@{label}.example.com",
            first_name="Waiting",
            last_name=label,
            password_hash=PASSWORD_HASH,
            state=SignupState.AWAITING_APPROVAL,
            token_hash=uuid.uuid4().hex,
            expires_at=utcnow() + timedelta(days=3),
            confirmed_at=utcnow(),
        )
        db.session.add(signup)
        notice = Notice(
            sponsor_id=sponsor_id,
            user_id=staff_id,
            kind="undeliverable",
            text=f"The invitation to invited@{label}.example.com could not be delivered",
            invitation_id=invitation.id,
        )
        db.session.add(notice)
        db.session.commit()
        tenant.invitation_id, tenant.message_id = invitation.id, message.id
        tenant.notice_id = notice.id
        tenant.link_id, tenant.signup_id = link.id, signup.id
    return tenant


def add_draft_row(app, tenant: Tenant, email: str) -> None:
    """One row in the tenant's staff member's INVITE → Teammates draft."""
    from scope.invites import drafts
    from scope.invites.rows import RowInput
    from scope.models import WizardKind

    with app.app_context():
        staff = db.session.get(User, tenant.staff_id)
        draft = drafts.get_draft(staff, WizardKind.TEAMMATES)
        drafts.add_row(draft, RowInput(UserType.STAFF, email))
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


# --- Races ---------------------------------------------------------------------------------


@contextmanager
def committed_soon_by_another(statement, after: float = 0.3) -> Iterator[None]:
    """Runs `statement` in a transaction of a connection of its own, which commits `after`
    seconds into the block: the block's code meets the write uncommitted, waits for it or
    not, as its database does, and runs on. Tests that use it need
    `@pytest.mark.real_commits`."""
    other = db.engine.connect()
    competing = other.begin()
    other.execute(statement)

    def commit_soon():
        time.sleep(after)
        competing.commit()
        other.close()

    committer = threading.Thread(target=commit_soon)
    committer.start()
    try:
        yield
    finally:
        committer.join(10)


def run_together(functions, timeout: float = 60) -> list:
    """Call every function in a thread of its own, all released at once by a barrier, and
    return their results in order. A function's exception fails the test (never swallowed),
    and so does a thread still running after `timeout` seconds. Tests that use it need
    `@pytest.mark.real_commits`."""
    barrier = threading.Barrier(len(functions), timeout=30)
    results: list = [None] * len(functions)
    errors = []

    def run(i, function):
        barrier.wait()
        try:
            results[i] = function()
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    running = [thread for thread in threads if thread.is_alive()]
    assert not running, f"{len(running)} still running after {timeout} s"
    assert errors == []
    return results


def assert_each_email_is_the_one_sent_alone(messages, staff_id: int) -> None:
    """Each invitation email of a batch (SEND, bulk Resend) carries its own link and is the
    email queue_invitation_email writes for that invitation alone. In a request context."""
    from scope.invites.sending import queue_invitation_email
    from scope.invites.tokens import invitation_link

    staff_user = db.session.get(User, staff_id)
    for message in messages:
        invitation = db.session.get(Invitation, message.invitation_id)
        link = invitation_link(invitation)
        assert link in message.body_text and link in message.body_html
        assert "link.invalid" not in message.body_text + message.body_html
        one = queue_invitation_email(invitation, staff_user, invitation.partner_organization)
        assert (message.subject, message.body_text, message.body_html) == (
            one.subject,
            one.body_text,
            one.body_html,
        )
