"""Public links: staff make one (QR code, flyer), people sign up through it and confirm from
the email, staff approve them; closed links each say why. People use browser contexts of
their own (not logged in, another machine)."""

import secrets
import subprocess
import sys

from helpers import (
    OCCUPATION,
    confirm_on_organization,
    create_employer,
    nav,
    new_password,
    open_employer,
    pick_organization,
    unique_email,
)
from playwright.sync_api import Page, expect

DOMAIN = "acmerobotics.example.com"


def open_public_links(page: Page) -> None:
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Public links").click()
    expect(page.get_by_role("heading", name="Public links")).to_be_visible()


def create_public_link(page: Page, organization: str, shot, **settings) -> str:
    """INVITE → Public links → Create public link; the new link's address."""
    open_public_links(page)
    page.get_by_role("link", name="Create public link").click()
    pick_organization(page, organization, label="Organization")
    page.get_by_label("User type").select_option(label=settings.get("user_type", "Supervisor"))
    if "domains" in settings:
        page.get_by_label("Allowed email domains").fill(settings["domains"])
    if "maximum" in settings:
        page.get_by_label("Maximum sign-ups").fill(str(settings["maximum"]))
    if settings.get("approval"):
        page.get_by_label("Require approval").check()
    shot(page, "create-public-link")
    page.get_by_role("button", name="Create public link").click()
    expect(page.get_by_text(f"Public link created for {organization}.")).to_be_visible()
    return page.get_by_label("Link", exact=True).first.input_value()


def fill_sign_up(person: Page, first: str, last: str, email: str, password: str) -> None:
    person.get_by_label("First name").fill(first)
    person.get_by_label("Last name").fill(last)
    person.get_by_label("Email").fill(email)
    person.get_by_label("Password", exact=True).fill(password)
    person.get_by_label("Confirm password").fill(password)
    person.get_by_role("button", name="Create account").click()


def confirm_link(mail, address: str) -> str:
    message = mail.wait_for_mail_to(address)
    [link] = [link for link in message.links() if "/p/confirm/" in link]
    return link


def run_on_server(server, code: str) -> None:
    """Python against the server's database: for time passing, which a browser cannot do."""
    subprocess.run([sys.executable, "-c", code], env=server.env, check=True, timeout=60)


def test_a_person_signs_up_through_a_public_link_and_staff_approve_them(
    page: Page, create_staff, login, mail, new_context, server, shot
):
    staff = create_staff(first_name="Morgan", last_name="Lee")
    login(page, staff.email, staff.password)
    organization = f"Acme Robotics {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    url = create_public_link(page, organization, shot, domains=DOMAIN, approval=True)
    assert url.startswith(f"{server.url}/p/")
    link = page.get_by_role("listitem").filter(has_text=organization)
    expect(link).to_contain_text(DOMAIN)
    expect(link.get_by_role("definition")).to_contain_text(["Open", "0", "Never", DOMAIN, "Yes"])
    for action in ("Copy link", "Show QR code", "Print flyer", "Rotate", "Disable"):
        expect(
            link.get_by_role("button", name=action).or_(link.get_by_role("link", name=action))
        ).to_be_visible()
    shot(page, "public-links")

    link.get_by_role("link", name="Show QR code").click()
    qr = page.get_by_role("img", name="QR code")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    shot(page, "qr-code")
    page.goto(page.get_by_role("link", name="Print flyer").get_attribute("href"))
    expect(page.get_by_role("heading", name=f"Join {organization} on Scope")).to_be_visible()
    expect(page.get_by_text(url)).to_be_visible()
    shot(page, "flyer")
    page.emulate_media(media="print")
    shot(page, "flyer-print")
    page.emulate_media(media="screen")
    page.go_back()

    person = new_context().new_page()
    person.goto(url)
    expect(person.get_by_role("heading", name="Create your Scope account")).to_be_visible()
    expect(person.get_by_text(organization)).to_be_visible()
    password = new_password()
    # An address outside the allowed domain is refused beside the field.
    fill_sign_up(person, "Dana", "Reyes", unique_email("dana"), password)
    expect(person.get_by_text(f"Use your work email address (at {DOMAIN}).")).to_be_visible()
    shot(person, "public-sign-up-wrong-domain")
    address = f"dana-{secrets.token_hex(3)}@{DOMAIN}"
    fill_sign_up(person, "Dana", "Reyes", address, password)
    expect(person.get_by_role("heading", name="Check your email")).to_be_visible()
    shot(person, "public-sign-up-check-email")

    person.goto(confirm_link(mail, address))
    shot(person, "public-sign-up-confirm")
    person.get_by_role("button", name="Confirm and create account").click()
    expect(person.get_by_role("heading", name="Your address is confirmed")).to_be_visible()
    shot(person, "public-sign-up-awaiting")

    nav(page).get_by_role("link", name="Manage").click()
    queue = page.get_by_role("region", name="Awaiting approval")
    row = queue.get_by_role("row").filter(has_text=address)
    expect(row).to_contain_text("Awaiting approval")
    expect(row.get_by_role("button", name="Decline")).to_be_visible()
    shot(page, "awaiting-approval")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Dana Reyes approved; they can log in now.")).to_be_visible()
    page.reload()
    expect(
        page.get_by_role("table", name="Users").get_by_role("row").filter(has_text=address)
    ).to_contain_text("Active")

    approved = mail.wait_for(lambda m: address in m.recipients and "ready" in m.subject)[-1]
    assert "approved your sign-up" in approved.text
    login(person, address, password)
    expect(person.get_by_role("link", name="My organization")).to_be_visible()
    expect(person.get_by_text(organization).first).to_be_visible()
    shot(person, "public-sign-up-logged-in")


def test_rotated_full_and_expired_links_each_get_their_page(
    page: Page, create_staff, login, mail, new_context, server, shot
):
    staff = create_staff()
    login(page, staff.email, staff.password)
    organization = f"Summit Builders {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    old = create_public_link(page, organization, shot, maximum=1)
    link = page.get_by_role("listitem").filter(has_text=organization)

    # Rotate: a new address, the same settings; the old one says it was replaced.
    link.get_by_role("button", name="Rotate").click()
    dialog = page.get_by_role("dialog", name="Rotate this link?")
    shot(page, "rotate-confirm")
    dialog.get_by_role("button", name="Rotate").click()
    expect(page.get_by_text("has a new address")).to_be_visible()
    new = page.get_by_label("Link", exact=True).first.input_value()
    assert new != old
    person = new_context().new_page()
    person.goto(old)
    expect(person.get_by_role("heading", name="This sign-up link was replaced")).to_be_visible()
    shot(person, "link-rotated")

    # Full: one sign-up fills a link of one.
    address = unique_email("first")
    person.goto(new)
    fill_sign_up(person, "Ari", "Stone", address, new_password())
    expect(person.get_by_role("heading", name="Check your email")).to_be_visible()
    person.goto(confirm_link(mail, address))
    person.get_by_role("button", name="Confirm and create account").click()
    expect(person.get_by_role("link", name="My organization")).to_be_visible()
    stranger = new_context().new_page()
    stranger.goto(new)
    expect(stranger.get_by_role("heading", name="This sign-up link is full")).to_be_visible()
    shot(stranger, "link-full")

    # Expired: its last day has passed.
    run_on_server(
        server,
        "from datetime import date, timedelta\n"
        "from scope import create_app\n"
        "from scope.extensions import db\n"
        "from scope.models import PartnerOrganization, PublicLink\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    ours = PublicLink.partner_organization.has(PartnerOrganization.name == NAME)\n"
        "    for link in db.session.scalars(db.select(PublicLink).where(ours)):\n"
        "        link.max_signups = None\n"
        "        link.expires_on = date.today() - timedelta(days=2)\n"
        "    db.session.commit()\n".replace("NAME", repr(organization)),
    )
    stranger.goto(new)
    expect(stranger.get_by_role("heading", name="This sign-up link has expired")).to_be_visible()
    shot(stranger, "link-expired")
    page.reload()
    expect(page.get_by_role("listitem").filter(has_text=organization)).to_contain_text("Expired")


def test_an_archived_organizations_link_reads_as_turned_off_until_it_is_restored(
    page: Page, create_staff, login, new_context, shot
):
    staff = create_staff()
    login(page, staff.email, staff.password)
    organization = f"Harbor Works {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    url = create_public_link(page, organization, shot)
    open_employer(page, organization)
    confirm_on_organization(page, "Archive", organization)

    # Whoever holds the link reads it as turned off, and has no form to fill.
    person = new_context().new_page()
    person.goto(url)
    expect(person.get_by_role("heading", name="This sign-up link was turned off")).to_be_visible()
    expect(person.get_by_label("Email")).to_have_count(0)
    expect(person.get_by_text(organization)).to_have_count(0)
    shot(person, "link-of-an-archived-organization")

    # Staff read why, and the QR code says it takes no sign-ups.
    open_public_links(page)
    link = page.get_by_role("listitem").filter(has_text=organization)
    expect(link.get_by_role("definition").first).to_have_text("Organization archived")
    shot(page, "public-links-organization-archived")
    link.get_by_role("link", name="Show QR code").click()
    expect(
        page.get_by_text("This link takes no sign-ups now: its organization is archived.")
    ).to_be_visible()
    shot(page, "qr-code-organization-archived")

    # Restored, the same address takes sign-ups again.
    open_employer(page, organization, archived=True)
    confirm_on_organization(page, "Restore", organization)
    person.reload()
    expect(person.get_by_role("heading", name="Create your Scope account")).to_be_visible()
    expect(person.get_by_text(organization)).to_be_visible()


# --- Partner administrators ------------------------------------------------------------------


def test_a_partner_administrator_invites_a_mentor_who_signs_up(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff(first_name="Morgan", last_name="Lee")
    login(page, staff.email, staff.password)
    organization = f"Keystone Electric {secrets.token_hex(2)}"
    create_employer(page, organization, shot)

    # Sponsor settings: partner administrators may invite (off by default).
    page.get_by_role("button", name="Morgan Lee").click()
    page.get_by_role("menuitem", name="Sponsor settings").click()
    card = page.get_by_role("region", name="Partner administrators")
    expect(card).to_contain_text("Partner administrators cannot")
    card.get_by_role("link", name="Edit").click()
    page.get_by_label("Partner administrators may invite people to their own organization").check()
    shot(page, "sponsor-settings-partner-invites")
    page.get_by_role("button", name="Save").click()
    expect(card).to_contain_text("Partner administrators invite people to their own organization.")

    # Staff invite the employer's administrator, who signs up.
    admin_email = unique_email("admin")
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    pick_organization(page, organization)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("User type").select_option(label="Administrator")
    page.get_by_label("Email").fill(admin_email)
    page.get_by_role("button", name="Add+").click()
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    admin = new_context().new_page()
    [link] = mail.wait_for_mail_to(admin_email).links()
    admin.goto(link)
    admin_password = new_password()
    admin.get_by_label("First name").fill("Avery")
    admin.get_by_label("Last name").fill("Admin")
    admin.get_by_label("Password", exact=True).fill(admin_password)
    admin.get_by_label("Confirm password").fill(admin_password)
    admin.get_by_role("button", name="Create account").click()

    # The administrator's INVITE: the external wizard, fixed to their own organization.
    nav(admin).get_by_role("link", name="Invite").click()
    wizard = admin.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {organization}")
    user_type = admin.get_by_label("User type")
    expect(user_type.get_by_role("option")).to_have_text(["Choose…", "Supervisor", "Mentor"])
    mentor_email = unique_email("mentor")
    user_type.select_option(label="Mentor")
    admin.get_by_label("Occupation").select_option(label=OCCUPATION)
    admin.get_by_label("Email").fill(mentor_email)
    admin.get_by_role("button", name="Add+").click()
    shot(admin, "partner-admin-invites")
    admin.get_by_role("button", name="Send Invitations").click()
    expect(admin.get_by_text("1 invitation sent.")).to_be_visible()
    nav(admin).get_by_role("link", name="Manage").click()
    invitations = admin.get_by_role("table", name="Pending invitations")
    expect(invitations.get_by_role("row").filter(has_text=mentor_email)).to_contain_text(
        "Avery Admin"
    )
    expect(invitations).not_to_contain_text(admin_email)  # accepted: gone from the list
    shot(admin, "partner-admin-invitations")

    # The mentor signs up from the email.
    message = mail.wait_for_mail_to(mentor_email)
    assert "Avery Admin invited you" in " ".join(message.text.split())
    mentor = new_context().new_page()
    [link] = message.links()
    mentor.goto(link)
    mentor_password = new_password()
    mentor.get_by_label("First name").fill("Mina")
    mentor.get_by_label("Last name").fill("Mentor")
    mentor.get_by_label("Password", exact=True).fill(mentor_password)
    mentor.get_by_label("Confirm password").fill(mentor_password)
    mentor.get_by_role("button", name="Create account").click()
    expect(nav(mentor).get_by_role("link", name="My organization")).to_be_visible()
    expect(nav(mentor).get_by_role("link", name="Invite")).to_have_count(0)
    shot(mentor, "partner-invited-mentor-signed-up")
