"""The rest of Scope's lists on a phone: Partners → Employers and Occupations, an organization's
users, pending invitations and public links, the public links page, MANAGE → Users "Awaiting
approval", the Notifications list and the development mailbox. At 375 px each of 25 rows is a
card whose key column (a status, a name, a date) lies inside the screen with no sideways
scrolling; at 1280 px names and dates keep to one line. Screenshots at both widths, checked by
axe (the `shot` fixture).

One sponsor is seeded once for the module, straight into the server's database (25 of each
thing through the browser would take minutes): 25 employers, 25 occupations, and one employer
with 25 users, 25 pending invitations, 25 public links and 25 sign-ups awaiting approval; its
staff member has 25 notices and 25 emails.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from helpers import Staff, login, nav
from phone import (
    DESKTOP,
    ROWS,
    assert_fits_the_phone,
    assert_items_fit_the_phone,
    assert_one_line,
    body_rows,
)
from playwright.sync_api import Page, expect

ORGANIZATION = "Featherstonehaugh-Worthington Precision Manufacturing Cooperative"

SEED = """
import uuid
from datetime import timedelta

from sqlalchemy import select

from scope import create_app
from scope.extensions import db
from scope.models import (
    Invitation, InvitationState, MailMessage, MailState, Notice, Occupation, OrganizationKind,
    PartnerOrganization, PublicLink, PublicSignup, SignupState, User, UserStatus, UserType,
    utcnow,
)
from scope.text import name_key

ROWS, EMAIL, ORGANIZATION = {rows}, {email!r}, {organization!r}
app = create_app()
with app.app_context():
    staff = db.session.scalar(select(User).where(User.email == EMAIL))
    sid, now = staff.sponsor_id, utcnow()

    def organization(name, **fields):
        org = PartnerOrganization(
            sponsor_id=sid, kind=OrganizationKind.EMPLOYER, name=name, name_key=name_key(name),
            **fields,
        )
        db.session.add(org)
        return org

    home = organization(ORGANIZATION, city="Albuquerque", state="NM", phone="(505) 555-0142",
                        contact_name="Bartholomew Featherstonehaugh")
    for n in range(ROWS - 1):
        organization(f"Lakeshore Advanced Manufacturing and Logistics {{n:02d}}",
                     dba_name=f"Lakeshore {{n}}" if n % 3 == 0 else None,
                     city="Truth or Consequences" if n % 2 else None, state="NM",
                     phone=f"(505) 555-01{{n:02d}}", contact_name=f"Maximiliana Okafor {{n}}")
    for n in range(ROWS):
        name = f"Industrial Maintenance Mechanic, Advanced Level {{n:02d}}"
        db.session.add(Occupation(sponsor_id=sid, name=name, name_key=name_key(name),
                                  rapids_code=f"0{{n:03d}}CB", onet_code=f"49-9041.{{n:02d}}"))
    db.session.flush()
    statuses = [UserStatus.ACTIVE, UserStatus.MANAGED, UserStatus.DEACTIVATED]
    for n in range(ROWS):
        db.session.add(User(
            sponsor_id=sid, email=f"maximiliana.featherstonehaugh-{{n}}@precision-coop.example.org",
            first_name="Maximiliana", last_name=f"Featherstonehaugh {{n}}",
            user_type=UserType.SUPERVISOR, status=statuses[n % 3], partner_organization_id=home.id,
        ))
        address = f"bartholomew.worthington-{{n}}@precision-coop.example.org"
        db.session.add(Invitation(
            sponsor_id=sid, email=address, pending_email=address, user_type=UserType.SUPERVISOR,
            partner_organization_id=home.id, invited_by_id=staff.id,
            state=InvitationState.PENDING, nonce=uuid.uuid4().hex, sent_at=now,
            expires_at=now + timedelta(days=14), resend_count=0, reminder_count=n % 3,
        ))
    links = []
    for n in range(ROWS):
        link = PublicLink(
            sponsor_id=sid, partner_organization_id=home.id, user_type=UserType.SUPERVISOR,
            nonce=uuid.uuid4().hex, require_approval=True, created_by_id=staff.id,
            allowed_domains="precision-coop.example.org" if n % 2 else None,
            max_signups=100 if n % 3 else None,
        )
        db.session.add(link)
        links.append(link)
    db.session.flush()
    for n in range(ROWS):
        address = f"dana.featherstonehaugh-{{n}}@precision-coop.example.org"
        db.session.add(PublicSignup(
            sponsor_id=sid, public_link_id=links[n].id, email=address, pending_email=address,
            first_name="Dana", last_name=f"Featherstonehaugh-Reyes {{n}}",
            state=SignupState.AWAITING_APPROVAL, token_hash=uuid.uuid4().hex,
            expires_at=now + timedelta(days=1), confirmed_at=now,
        ))
        db.session.add(Notice(
            sponsor_id=sid, user_id=staff.id, kind="invitation_accepted", created_at=now,
            text=f"Maximiliana Featherstonehaugh {{n}} accepted your invitation "
                 f"(Supervisor at {{ORGANIZATION}})",
            read_at=now if n % 2 else None,
        ))
        # Sent or failed, never queued: the mail worker leaves them as they are.
        db.session.add(MailMessage(
            sponsor_id=sid, kind="set_password", state=MailState.FAILED if n % 5 == 0
            else MailState.DELIVERED, attempts=1, delivered_at=now,
            recipient=f"maximiliana.featherstonehaugh-{{n}}@precision-coop.example.org",
            subject="Set your password for Scope, Featherstonehaugh-Worthington Cooperative",
            body_text="Hello", body_html="<p>Hello</p>",
        ))
    db.session.commit()
    print(home.id)
"""


@dataclasses.dataclass(frozen=True)
class Seeded:
    staff: Staff
    organization_id: int


@pytest.fixture(scope="module")
def seeded(server, create_staff) -> Seeded:
    staff = create_staff(first_name="Morgan", last_name="Featherstonehaugh")
    code = SEED.format(rows=ROWS, email=staff.email, organization=ORGANIZATION)
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=server.env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return Seeded(staff, int(result.stdout.strip().splitlines()[-1]))


@pytest.fixture
def staff_page(page: Page, seeded: Seeded) -> Page:
    page.set_viewport_size(DESKTOP)
    login(page, seeded.staff.email, seeded.staff.password)
    expect(nav(page)).to_be_visible()
    return page


def test_employers_on_a_phone(staff_page: Page, shot):
    page = staff_page
    nav(page).get_by_role("button", name="Partners").click()
    nav(page).get_by_role("menuitem", name="Employers").click()
    table = page.get_by_role("table", name="Employers")
    expect(body_rows(table)).to_have_count(ROWS)
    shot(page, "employers")
    assert_fits_the_phone(page, table, ["Name", "City", "Phone", "Added"])
    assert_one_line(page, table.locator("td.cell-name a"), "names")
    assert_one_line(page, table.locator("td.cell-date time"), "dates")
    assert_one_line(page, table.locator("td.cell-phone"), "phone numbers")


def test_occupations_on_a_phone(staff_page: Page, shot):
    page = staff_page
    page.goto("/partners/occupations")
    table = page.get_by_role("table", name="Occupations")
    # The seeded 25 and those every sponsor starts with.
    rows = body_rows(table).count()
    assert rows > ROWS
    shot(page, "occupations")
    assert_fits_the_phone(page, table, ["Name", "RAPIDS code", "Mentors"], rows=rows)
    assert_one_line(page, table.locator("td.cell-name"), "names")


def test_an_organizations_people_and_links_on_a_phone(staff_page: Page, seeded: Seeded, shot):
    page = staff_page
    page.goto(f"/partners/organizations/{seeded.organization_id}")
    expect(page.get_by_role("heading", name=ORGANIZATION, level=1)).to_be_visible()
    shot(page, "organization")
    users = page.get_by_role("table", name="Users")
    assert_fits_the_phone(page, users, ["Name", "Email", "User type", "Status"])
    assert_one_line(page, users.locator("td.cell-name"), "names")
    invitations = page.get_by_role("table", name="Pending invitations")
    assert_fits_the_phone(page, invitations, ["Email", "User type", "Sent", "Status"])
    assert_one_line(page, invitations.locator("td.cell-date time"), "dates")
    links = page.locator("li.public-link")
    assert_items_fit_the_phone(page, links, "dd")  # each link's Status
    assert_items_fit_the_phone(page, links, ".link-actions .button.danger")  # and its Disable


def test_public_links_on_a_phone(staff_page: Page, shot):
    page = staff_page
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Public links").click()
    expect(page.get_by_role("heading", name="Public links")).to_be_visible()
    shot(page, "public-links")
    links = page.locator("li.public-link")
    assert_items_fit_the_phone(page, links, "h3")
    assert_items_fit_the_phone(page, links, "dd")


def test_sign_ups_awaiting_approval_on_a_phone(staff_page: Page, shot):
    page = staff_page
    nav(page).get_by_role("link", name="Manage").click()
    table = page.get_by_role("table", name="Awaiting approval")
    expect(body_rows(table)).to_have_count(ROWS)
    shot(page, "awaiting-approval")
    assert_fits_the_phone(page, table, ["Name", "Email", "Organization", "Confirmed", "Status"])
    assert_items_fit_the_phone(page, body_rows(table), "td.cell-buttons")
    assert_one_line(page, table.locator("td.cell-date time"), "dates")
    assert_one_line(page, table.locator("td.cell-name"), "names")
    # At 1280 px the whole row, Decline included, fits its card without scrolling.
    frame = page.locator("#awaiting-approval .table-wrap")
    scroll, client = frame.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll <= client, f"Awaiting approval scrolls sideways at 1280 px: {scroll} > {client}"


def test_notifications_on_a_phone(staff_page: Page, shot):
    page = staff_page
    page.get_by_role("button", name=re.compile(r"^Notifications")).click()
    dialog = page.get_by_role("dialog", name="Notifications")
    expect(dialog).to_be_visible()
    shot(page, "notifications")
    notices = dialog.locator("li.notice")
    assert_items_fit_the_phone(page, notices, ".link-button")
    assert_items_fit_the_phone(page, notices, ".muted")  # when, and whether it is unread
    expect(dialog.get_by_role("button", name="Mark all read")).to_be_visible()


# --- the development mailbox: a server of its own, with no mail server configured --------


@pytest.fixture
def mailbox_server(server) -> str:
    """gunicorn on the same database with SCOPE_DEV_MAILBOX and no SMTP server: the only kind
    of server that has a development mailbox."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in server.env.items() if k not in ("SCOPE_MAIL_SERVER", "SCOPE_MAIL_PORT")}
    env.update({"SCOPE_DEV_MAILBOX": "true", "SCOPE_PUBLIC_URL": url})
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["--no-control-socket"] * _has_control_socket()
        + ["scope:create_app()"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/login", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None and time.monotonic() < deadline, "no mailbox server"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _has_control_socket() -> int:
    from gunicorn.config import KNOWN_SETTINGS

    return int(any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS))


def test_development_mailbox_on_a_phone(page: Page, seeded: Seeded, mailbox_server, shot):
    page.set_viewport_size(DESKTOP)
    page.goto(mailbox_server + "/login")
    login_url = page.url
    assert login_url.startswith(mailbox_server)
    page.get_by_label("Email").fill(seeded.staff.email)
    page.get_by_label("Password").fill(seeded.staff.password)
    page.get_by_role("button", name="Log in").click()
    expect(nav(page)).to_be_visible()
    page.goto(mailbox_server + "/mail/mailbox")
    table = page.get_by_role("table", name="Messages")
    expect(body_rows(table)).to_have_count(ROWS)
    shot(page, "mailbox")
    assert_fits_the_phone(page, table, ["Recipient", "Subject", "Kind", "State", "Created"])
    assert_one_line(page, table.locator("td.cell-date time"), "dates")
