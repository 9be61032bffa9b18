"""INVITE, the emailed link and MANAGE → Invitations: the way staff and invited people use them.

Every test has its own staff member of a new sponsor, so MANAGE → Invitations lists only
what the test did. Invited people use browser contexts of their own (another person, on
another machine, not logged in).
"""

import re
import secrets
import time
import urllib.request
from datetime import UTC, datetime

from helpers import (
    OCCUPATION,
    create_employer,
    nav,
    new_password,
    pick_organization,
    unique_email,
)
from playwright.sync_api import Locator, Page, expect

# Columns of the Invitations table (the first holds the row's checkbox).
STATUS, DELIVERY = 6, 7


def reload_until_shown(page: Page, locator: Locator, text: str, timeout: float = 20) -> None:
    """Reload `page` until `locator` shows `text`: for what the server changes by itself."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            expect(locator).to_contain_text(text, timeout=500)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        page.reload()


def words(text: str) -> str:
    """Text with its line breaks and runs of spaces made single spaces."""
    return " ".join(text.split())


# --- Staff ----------------------------------------------------------------------------------


def open_invite(page: Page) -> None:
    nav(page).get_by_role("link", name="Invite").click()
    expect(page.get_by_role("heading", name="Invite", exact=True)).to_be_visible()


def start_external_wizard(page: Page, organization: str, shot) -> Locator:
    """INVITE → Invite External Users → Employer → CONTINUE; the wizard's region."""
    open_invite(page)
    page.get_by_role("link", name="Invite External Users").click()
    pick_organization(page, organization)
    shot(page, "choose-organization")
    page.get_by_role("button", name="Continue").click()
    wizard = page.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {organization}")
    return wizard


def people_to_invite(page: Page) -> Locator:
    return page.get_by_role("table", name="People to invite")


def add_row(page: Page, email: str, user_type: str | None = None, occupation: str | None = None):
    if user_type:
        page.get_by_label("User type").select_option(label=user_type)
    if occupation:
        page.get_by_label("Occupation").select_option(label=occupation)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Add+").click()


def invite_teammates(page: Page, shot, *emails: str) -> None:
    """INVITE → Invite Teammates → Email, ADD+ for each → SEND INVITATIONS."""
    open_invite(page)
    shot(page, "invite")
    page.get_by_role("link", name="Invite Teammates").click()
    expect(page.get_by_role("region", name="Invite Teammates")).to_be_visible()
    for email in emails:
        add_row(page, email)
        expect(people_to_invite(page).get_by_role("row").filter(has_text=email)).to_be_visible()
    shot(page, "teammates-to-invite")
    page.get_by_role("button", name="Send Invitations").click()
    n = len(emails)
    expect(page.get_by_text(f"{n} invitation{'' if n == 1 else 's'} sent.")).to_be_visible()


def open_invitations(page: Page) -> Locator:
    """MANAGE → Invitations; the table of pending invitations."""
    nav(page).get_by_role("link", name="Manage").click()
    page.get_by_role("tablist", name="Manage").get_by_role("tab", name="Invitations").click()
    table = page.get_by_role("table", name="Pending invitations")
    expect(table).to_be_visible()
    return table


def invitation_row(page: Page, email: str) -> Locator:
    table = page.get_by_role("table", name="Pending invitations")
    return table.get_by_role("row").filter(has_text=email)


def cell(page: Page, email: str, column: int) -> Locator:
    return invitation_row(page, email).get_by_role("cell").nth(column)


def row_action(page: Page, email: str, action: str) -> None:
    """The row's Actions menu (three dots), then one of its items."""
    row = invitation_row(page, email)
    row.get_by_role("button", name="Actions").click()
    row.get_by_role("menuitem", name=action).click()


# --- Invited people -------------------------------------------------------------------------


def invitation_link(mail, address: str, timeout: float = 15) -> str:
    message = mail.wait_for_mail_to(address, timeout=timeout)
    [link] = message.links()
    return link


def sign_up(person: Page, first: str, last: str, password: str) -> None:
    person.get_by_label("First name").fill(first)
    person.get_by_label("Last name").fill(last)
    person.get_by_label("Password", exact=True).fill(password)
    person.get_by_label("Confirm password").fill(password)
    person.get_by_role("button", name="Create account").click()


# --- The tests ------------------------------------------------------------------------------


def test_invite_external_users_who_sign_up(
    page: Page, create_staff, login, mail, new_context, server, shot
):
    staff = create_staff(first_name="Morgan", last_name="Lee")
    login(page, staff.email, staff.password)
    organization = f"Buckeye Electric {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    mentor, supervisor = unique_email("mentor"), unique_email("supervisor")

    open_invite(page)
    tabs = page.get_by_role("tablist", name="Kind of account")
    expect(tabs.get_by_role("tab", name="Authenticated")).to_have_attribute("aria-selected", "true")
    expect(tabs.get_by_role("tab", name="Managed")).to_have_attribute("aria-selected", "false")
    expect(page.get_by_role("tabpanel", name="Authenticated")).to_be_visible()
    shot(page, "invite")
    page.get_by_role("link", name="Invite External Users").click()
    pick_organization(page, organization)
    shot(page, "choose-organization")
    page.get_by_role("button", name="Continue").click()

    wizard = page.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {organization}")
    send = page.get_by_role("button", name="Send Invitations")
    expect(send).to_be_disabled()
    occupation = page.get_by_label("Occupation")
    expect(occupation).to_be_hidden()
    shot(page, "wizard-empty")

    # A mentor always has an occupation: the field appears for Mentor only.
    page.get_by_label("User type").select_option(label="Mentor")
    expect(occupation).to_be_visible()
    page.get_by_label("Email").fill(mentor)
    page.get_by_role("button", name="Add+").click()
    expect(page.get_by_text("Choose the mentor's occupation.")).to_be_visible()
    expect(send).to_be_disabled()
    shot(page, "mentor-without-occupation")
    add_row(page, mentor, "Mentor", OCCUPATION)
    mentor_row = people_to_invite(page).get_by_role("row").filter(has_text=mentor)
    expect(mentor_row).to_contain_text("Mentor")
    expect(mentor_row).to_contain_text(OCCUPATION)
    expect(send).to_be_enabled()
    expect(page.get_by_label("Email")).to_have_value("")

    page.get_by_label("User type").select_option(label="Mentor")
    expect(occupation).to_be_visible()
    page.get_by_label("User type").select_option(label="Supervisor")
    expect(occupation).to_be_hidden()
    page.get_by_label("Email").fill(supervisor)
    shot(page, "supervisor-row")
    page.get_by_role("button", name="Add+").click()
    expect(people_to_invite(page).get_by_role("row").filter(has_text=supervisor)).to_contain_text(
        "Supervisor"
    )

    # The same address twice is refused on the row.
    add_row(page, mentor.upper(), "Administrator")
    expect(page.get_by_text("This address is already in the list.")).to_be_visible()
    shot(page, "duplicate-in-list")

    # A reload in the middle of the wizard loses nothing.
    page.reload()
    expect(people_to_invite(page).get_by_role("row")).to_have_count(3)  # with the header
    expect(page.get_by_text("2 people in the list")).to_be_visible()

    # SEND would add a person still typed in the form first: that duplicate goes.
    page.get_by_label("Email").fill("")
    send.click()
    expect(page.get_by_text("2 invitations sent.")).to_be_visible()
    expect(people_to_invite(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Send Invitations")).to_be_disabled()
    shot(page, "sent")

    # Both emails reach the mail server, naming who invites whom to what, with the link.
    links = {}
    for address, user_type in ((mentor, "Mentor"), (supervisor, "Supervisor")):
        message = mail.wait_for_mail_to(address)
        assert message.subject == f"{staff.sponsor} invites you to Scope"
        text = words(message.text)
        assert f"Morgan Lee invited you to join {organization}" in text
        assert f"dashboard of {staff.sponsor}" in text
        assert f"as a {user_type}." in text
        [link] = message.links()
        assert link.startswith(f"{server.url}/join/")
        assert link in message.html
        links[address] = link
    assert links[mentor] != links[supervisor]

    # MANAGE → Invitations lists both, sent today, delivered.
    open_invitations(page)
    today = datetime.now(UTC).strftime("%b %-d, %Y")
    for address, user_type in ((mentor, "Mentor"), (supervisor, "Supervisor")):
        row = invitation_row(page, address)
        expect(row).to_contain_text(user_type)
        expect(row).to_contain_text(organization)
        expect(row).to_contain_text("Morgan Lee")
        expect(row).to_contain_text(today)
        expect(cell(page, address, STATUS)).to_have_text("Sent")
    expect(invitation_row(page, mentor)).to_contain_text(OCCUPATION)
    reload_until_shown(page, cell(page, mentor, DELIVERY), "Delivered")
    shot(page, "invitations")

    # A mail scanner fetching the link does not make it Reviewed (or use it).
    with urllib.request.urlopen(links[mentor], timeout=10) as response:
        assert "Create your Scope account" in response.read().decode()
    page.reload()
    expect(cell(page, mentor, STATUS)).to_have_text("Sent")

    # The mentor opens the link in their own browser.
    person = new_context().new_page()
    person.goto(links[mentor])
    expect(person.get_by_role("heading", name="Create your Scope account")).to_be_visible()
    summary = person.get_by_role("definition")
    expect(summary.filter(has_text=staff.sponsor)).to_have_count(1)
    expect(summary.filter(has_text=organization)).to_have_count(1)
    expect(summary.filter(has_text="Mentor")).to_have_count(1)
    expect(summary.filter(has_text=OCCUPATION)).to_have_count(1)
    email = person.get_by_label("Email")
    expect(email).to_have_value(mentor)
    expect(email).not_to_be_editable()
    shot(person, "sign-up")

    reload_until_shown(page, cell(page, mentor, STATUS), "Reviewed")
    expect(cell(page, supervisor, STATUS)).to_have_text("Sent")
    shot(page, "reviewed")

    password = new_password()
    person.get_by_label("First name").fill("Riley")
    person.get_by_label("Last name").fill("Chen")
    person.get_by_label("Password", exact=True).fill(password)
    person.get_by_label("Confirm password").fill(password + "x")
    person.get_by_role("button", name="Create account").click()
    expect(person.get_by_text("The passwords do not match.")).to_be_visible()
    expect(person.get_by_label("First name")).to_have_value("Riley")
    shot(person, "sign-up-error")
    sign_up(person, "Riley", "Chen", password)

    expect(person).to_have_url(re.compile(r"/my/organization$"))
    expect(person.get_by_role("heading", name="My organization")).to_be_visible()
    expect(person.get_by_text(organization).first).to_be_visible()
    person_nav = nav(person)
    expect(person_nav.get_by_role("button", name="Account: Riley Chen")).to_be_visible()
    expect(person_nav.get_by_role("button", name="Partners")).to_have_count(0)
    expect(person_nav.get_by_role("link", name="Invite")).to_have_count(0)
    shot(person, "my-organization")

    # The invitation leaves MANAGE → Invitations; the person is on Users, Active.
    page.reload()
    expect(invitation_row(page, mentor)).to_have_count(0)
    expect(invitation_row(page, supervisor)).to_have_count(1)
    shot(page, "invitation-accepted")
    page.get_by_role("tablist", name="Manage").get_by_role("tab", name="Users").click()
    user = page.get_by_role("table", name="Users").get_by_role("row").filter(has_text=mentor)
    expect(user.get_by_role("link", name="Riley Chen")).to_be_visible()
    for text in ("Mentor", organization, OCCUPATION, "Active", today):
        expect(user).to_contain_text(text)
    shot(page, "users")

    # The link works once.
    again = new_context().new_page()
    again.goto(links[mentor])
    expect(again.get_by_role("heading", name="This invitation was already used")).to_be_visible()
    expect(again.get_by_role("link", name="Log in")).to_be_visible()
    expect(again.get_by_label("Password")).to_have_count(0)
    shot(again, "link-already-used")

    # The address now has an account: inviting it again is refused, with a way to the profile.
    start_external_wizard(page, organization, shot)
    add_row(page, mentor, "Supervisor")
    expect(page.get_by_text("Riley Chen already has an account with this address.")).to_be_visible()
    expect(page.get_by_role("link", name="Open the profile")).to_be_visible()
    shot(page, "address-has-an-account")


def test_copy_resend_and_revoke_an_invitation(
    page: Page, create_staff, login, mail, new_context, server, shot
):
    staff = create_staff(first_name="Avery", last_name="Stone")
    login(page, staff.email, staff.password)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    organization = f"Maple Health {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    invited = unique_email("administrator")
    start_external_wizard(page, organization, shot)
    add_row(page, invited, "Administrator")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    shot(page, "sent")
    emailed_link = invitation_link(mail, invited)

    # Copy Invitation Link shows the emailed link in a field (and puts it on the clipboard).
    open_invitations(page)
    row_action(page, invited, "Copy Invitation Link")
    dialog = page.get_by_role("dialog", name=f"Invitation link for {invited}")
    field = dialog.get_by_label("Invitation link")
    expect(field).to_have_value(emailed_link)
    expect(field).not_to_be_editable()
    expect(dialog.get_by_text("Link copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == emailed_link
    copied = field.input_value()
    shot(page, "copy-link")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    actions = invitation_row(page, invited).get_by_role("button", name="Actions")
    expect(actions).to_be_focused()
    expect(actions).to_have_attribute("aria-expanded", "false")

    someone = new_context().new_page()
    someone.goto(copied)
    expect(someone.get_by_role("heading", name="Create your Scope account")).to_be_visible()
    expect(someone.get_by_label("Email")).to_have_value(invited)
    shot(someone, "copied-link-opens-sign-up")

    # Resend: a second email, with a new link; the first one says a newer email was sent.
    row_action(page, invited, "Resend")
    expect(invitation_row(page, invited)).to_contain_text(f"Invitation to {invited} sent again.")
    shot(page, "resent")
    second = mail.wait_for(lambda m: invited in m.recipients, count=2)
    (resent_link,) = second[-1].links()
    assert resent_link != emailed_link
    someone.goto(emailed_link)
    expect(someone.get_by_role("heading", name="A newer invitation was sent")).to_be_visible()
    shot(someone, "replaced-link")
    emailed_link = resent_link
    reload_until_shown(page, cell(page, invited, DELIVERY), "Delivered")

    # Inviting a pending address again is refused on the row, with Resend offered instead.
    start_external_wizard(page, organization, shot)
    add_row(page, invited, "Supervisor")
    refusal = page.get_by_text(f"Already invited to {organization} as Administrator")
    expect(refusal).to_be_visible()
    expect(people_to_invite(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Send Invitations")).to_be_disabled()
    shot(page, "pending-address-refused")
    page.get_by_role("button", name="Resend").click()
    expect(page.get_by_text(f"Invitation to {invited} sent again.")).to_be_visible()
    mail.wait_for(lambda m: invited in m.recipients, count=3)
    shot(page, "resent-from-the-wizard")

    # Revoke, confirmed in a dialog: the row goes and the link stops working.
    open_invitations(page)
    row_action(page, invited, "Revoke")
    confirm = page.get_by_role("dialog", name="Revoke invitation?")
    expect(confirm).to_contain_text(invited)
    shot(page, "revoke-confirm")
    confirm.get_by_role("button", name="Revoke").click()
    expect(confirm).to_have_count(0)
    expect(invitation_row(page, invited)).to_have_count(0)
    expect(page.get_by_text(f"Invitation to {invited} revoked.")).to_be_visible()
    shot(page, "revoked")
    page.reload()
    expect(invitation_row(page, invited)).to_have_count(0)

    someone.goto(emailed_link)
    expect(someone.get_by_role("heading", name="This invitation was revoked")).to_be_visible()
    expect(someone.get_by_label("Password")).to_have_count(0)
    shot(someone, "link-revoked")

    # The address can be invited again.
    start_external_wizard(page, organization, shot)
    add_row(page, invited, "Administrator")
    expect(people_to_invite(page).get_by_role("row").filter(has_text=invited)).to_be_visible()
    expect(page.get_by_role("button", name="Send Invitations")).to_be_enabled()
    shot(page, "address-free-again")


def test_teammate_invitation_gives_staff_access(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff(first_name="Jordan", last_name="Park")
    login(page, staff.email, staff.password)
    teammate = unique_email("teammate")

    open_invite(page)
    page.get_by_role("link", name="Invite Teammates").click()
    expect(page.get_by_role("region", name="Invite Teammates")).to_be_visible()
    expect(page.get_by_label("User type")).to_have_count(0)
    expect(page.get_by_role("button", name="Send Invitations")).to_be_disabled()
    add_row(page, "not an address")
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_role("button", name="Send Invitations")).to_be_disabled()
    shot(page, "bad-address")
    add_row(page, staff.email)
    expect(page.get_by_text("Jordan Park already has an account with this address")).to_be_visible()
    add_row(page, teammate)
    expect(people_to_invite(page).get_by_role("row").filter(has_text=teammate)).to_be_visible()
    shot(page, "teammate-row")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    shot(page, "sent")

    message = mail.wait_for_mail_to(teammate)
    assert f"as a staff member of {staff.sponsor}" in words(message.text)
    [link] = message.links()

    open_invitations(page)
    expect(invitation_row(page, teammate)).to_contain_text("Staff (teammate)")
    shot(page, "invitations")

    person = new_context().new_page()
    person.goto(link)
    expect(person.get_by_role("definition").filter(has_text="Staff (teammate)")).to_have_count(1)
    shot(person, "sign-up")
    sign_up(person, "Casey", "Nguyen", new_password())

    person_nav = nav(person)
    expect(person_nav.get_by_role("button", name="Partners")).to_be_visible()
    expect(person_nav.get_by_role("link", name="Invite")).to_be_visible()
    expect(person_nav.get_by_role("link", name="Manage")).to_be_visible()
    expect(person_nav.get_by_role("button", name="Account: Casey Nguyen")).to_be_visible()
    expect(person.get_by_role("heading", name="Employers", exact=True)).to_be_visible()
    shot(person, "teammate-home")

    # Same sponsor: the new teammate sees the staff member who invited them.
    person_nav.get_by_role("link", name="Manage").click()
    users = person.get_by_role("table", name="Users")
    expect(users.get_by_role("row").filter(has_text=staff.email)).to_contain_text("Jordan Park")
    expect(users.get_by_role("row").filter(has_text=teammate)).to_contain_text("Active")
    shot(person, "teammate-sees-users")


def test_mail_server_down_during_send_keeps_the_invitation_queued(
    page: Page, create_staff, login, mail, smtp_server, shot
):
    """The first retry comes 30 s after a failed attempt (scope/mail/delivery.py BACKOFF)."""
    staff = create_staff()
    login(page, staff.email, staff.password)
    teammate = unique_email("patient")

    smtp_server.stop()
    invite_teammates(page, shot, teammate)
    shot(page, "sent-while-smtp-is-down")

    open_invitations(page)
    delivery = cell(page, teammate, DELIVERY)
    reload_until_shown(page, delivery, "retrying")
    expect(delivery).to_contain_text("Queued")
    expect(delivery).to_contain_text(f"Could not reach {smtp_server.host}:{smtp_server.port}")
    expect(cell(page, teammate, STATUS)).to_have_text("Sent")
    shot(page, "queued-retrying")
    assert mail.to(teammate) == []

    smtp_server.start()
    message = mail.wait_for_mail_to(teammate, timeout=75)
    assert len(message.links()) == 1
    page.reload()
    expect(cell(page, teammate, DELIVERY)).to_have_text("Delivered")
    shot(page, "delivered-after-the-outage")


def test_recipient_refused_by_the_mail_server_shows_failed(
    page: Page, create_staff, login, mail, shot
):
    staff = create_staff()
    login(page, staff.email, staff.password)
    refused, accepted = unique_email("nobody"), unique_email("somebody")
    mail.refuse(refused, f"550 5.1.1 <{refused}>: Recipient address rejected: User unknown")

    invite_teammates(page, shot, refused, accepted)
    shot(page, "sent")
    mail.wait_for_mail_to(accepted)

    open_invitations(page)
    delivery = cell(page, refused, DELIVERY)
    reload_until_shown(page, delivery, "Failed")
    expect(delivery).to_contain_text("550 5.1.1")
    expect(delivery).to_contain_text("User unknown")
    expect(cell(page, accepted, DELIVERY)).to_have_text("Delivered")
    shot(page, "failed-delivery")
    assert mail.to(refused) == []
