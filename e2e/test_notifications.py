"""Reminders and notices as people meet them: a reminder email arriving days later (the test
moves the invitation's clock, it does not wait), and the inviter's Notifications button
lighting up, without a reload, when a person signs up or their address is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from helpers import confirm_on_organization, create_employer, nav, new_password, unique_email
from playwright.sync_api import Page, expect
from test_invitations import (
    DELIVERY,
    STATUS,
    add_row,
    cell,
    invitation_row,
    invite_teammates,
    open_invitations,
    people_to_invite,
    reload_until_shown,
    sign_up,
)


def move_clock(server, email: str, days: float) -> None:
    """The invitation to `email` was sent `days` earlier than it was (and expires so too)."""
    url = server.env["SCOPE_SQLALCHEMY_DATABASE_URI"]
    url = re.sub(r"^postgresql(\+\w+)?://", "postgresql+psycopg://", url)
    engine = sa.create_engine(url)
    table = sa.table(
        "invitation",
        sa.column("email"),
        sa.column("state"),
        sa.column("sent_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    shift = timedelta(days=days)
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(table.c.sent_at, table.c.expires_at).where(
                    table.c.email == email, table.c.state == "pending"
                )
            ).all()
            assert len(rows) == 1
            [(sent_at, expires_at)] = rows
            conn.execute(
                table.update()
                .where(table.c.email == email, table.c.state == "pending")
                .values(sent_at=sent_at - shift, expires_at=expires_at - shift)
            )
    finally:
        engine.dispose()


UNREAD_NONE = re.compile(r"^Notifications\s*0 unread$")
UNREAD_ONE = re.compile(r"^Notifications\s*1 unread$")


def notifications(page: Page):
    return page.get_by_role("button", name=re.compile(r"^Notifications"))


def test_a_reminder_arrives_three_days_later_with_the_same_link(
    page: Page, create_staff, login, mail, server, new_context, shot
):
    staff = create_staff(first_name="Jordan", last_name="Park")
    login(page, staff.email, staff.password)
    teammate = unique_email("reminded")
    invite_teammates(page, shot, teammate)
    first = mail.wait_for_mail_to(teammate)
    [link] = first.links()

    move_clock(server, teammate, days=3.01)
    [reminder] = mail.wait_for(
        lambda m: teammate in m.recipients and m.subject.startswith("Reminder:"), timeout=20
    )
    assert reminder.links() == [link], "the reminder carries the invitation's own link"
    assert "still waiting for you" in " ".join(reminder.text.split())
    assert len(mail.to(teammate)) == 2

    open_invitations(page)
    expect(cell(page, teammate, STATUS)).to_contain_text("reminded 1×")
    shot(page, "reminded-once")

    person = new_context().new_page()
    person.goto(link)
    expect(person.get_by_role("button", name="Create account")).to_be_visible()

    # Staff can turn reminders off for their sponsor.
    nav(page).get_by_role("button", name="Account: Jordan Park").click()
    page.get_by_role("menuitem", name="Sponsor settings").click()
    card = page.get_by_role("region", name="Invitation reminders")
    expect(card).to_contain_text("3 and 10 days after it was sent")
    expect(card).to_contain_text("On")
    shot(page, "sponsor-settings-reminders-on")
    card.get_by_role("link", name="Edit").click()
    box = card.get_by_label("Send reminder emails for pending invitations")
    expect(box).to_be_checked()
    box.uncheck()
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_text("Off", exact=True)).to_be_visible()
    shot(page, "sponsor-settings-reminders-off")


def test_the_inviters_button_shows_an_acceptance_without_a_reload(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff(first_name="Jordan", last_name="Park")
    login(page, staff.email, staff.password)
    teammate = unique_email("joins")
    invite_teammates(page, shot, teammate)
    [link] = mail.wait_for_mail_to(teammate).links()
    open_invitations(page)
    expect(notifications(page)).to_have_accessible_name(UNREAD_NONE)
    shot(page, "nothing-unread")

    person = new_context().new_page()
    person.goto(link)
    sign_up(person, "Casey", "Nguyen", new_password())
    expect(person.get_by_role("button", name="Account: Casey Nguyen")).to_be_visible()

    # No reload: the count is polled.
    expect(notifications(page)).to_have_accessible_name(UNREAD_ONE, timeout=15_000)
    shot(page, "one-unread")
    notifications(page).click()
    dialog = page.get_by_role("dialog", name="Notifications")
    notice = dialog.get_by_role("button", name="Casey Nguyen accepted your invitation (Staff)")
    expect(notice).to_be_visible()
    shot(page, "notice-list")
    notice.click()
    expect(page.get_by_role("heading", name="Casey Nguyen")).to_be_visible()
    expect(notifications(page)).to_have_accessible_name(UNREAD_NONE)
    shot(page, "opened")


def test_an_address_refused_with_550_shows_undeliverable_on_the_row_and_in_the_button(
    page: Page, create_staff, login, mail, shot
):
    staff = create_staff()
    login(page, staff.email, staff.password)
    refused, other = unique_email("nobody"), unique_email("somebody")
    mail.refuse(refused, "550 5.1.1 Mailbox unavailable")
    invite_teammates(page, shot, refused, other)
    mail.wait_for_mail_to(other)

    open_invitations(page)
    reload_until_shown(page, cell(page, refused, DELIVERY), "Failed")
    expect(cell(page, refused, DELIVERY)).to_contain_text("550 5.1.1 Mailbox unavailable")
    expect(notifications(page)).to_have_accessible_name(UNREAD_ONE, timeout=15_000)
    shot(page, "undeliverable-row")

    notifications(page).click()
    dialog = page.get_by_role("dialog", name="Notifications")
    notice = dialog.get_by_role(
        "button", name=f"The invitation to {refused} could not be delivered: 550"
    )
    expect(notice).to_be_visible()
    shot(page, "undeliverable-notice")
    dialog.get_by_role("button", name="Mark all read").click()
    expect(dialog.get_by_text("Nothing unread.")).to_be_visible()
    expect(notifications(page)).to_have_accessible_name(UNREAD_NONE)
    shot(page, "all-read")
    notice.click()
    expect(invitation_row(page, refused)).to_be_visible()
    expect(page.get_by_role("table", name="Pending invitations").get_by_role("row")).to_have_count(
        2
    )


def test_invite_people_from_the_organization_page_and_see_them_pending(
    page: Page, create_staff, login, mail, shot
):
    staff = create_staff()
    login(page, staff.email, staff.password)
    employer = f"Harbor Welding {unique_email('x')[:8]}"
    create_employer(page, employer, shot)
    page.get_by_role("table", name="Employers").get_by_role("link", name=employer).click()
    expect(page.get_by_role("heading", name=employer, level=1)).to_be_visible()
    expect(page.get_by_text("No pending invitations for this organization.")).to_be_visible()
    shot(page, "organization-without-invitations")

    page.get_by_role("button", name="Invite people to this organization").click()
    wizard = page.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {employer}")
    supervisor = unique_email("supervisor")
    add_row(page, supervisor, "Supervisor")
    expect(people_to_invite(page).get_by_role("row").filter(has_text=supervisor)).to_be_visible()
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    mail.wait_for_mail_to(supervisor)

    nav(page).get_by_role("button", name="Partners").click()
    page.get_by_role("menuitem", name="Employers").click()
    page.get_by_role("table", name="Employers").get_by_role("link", name=employer).click()
    pending = page.get_by_role("table", name="Pending invitations")
    row = pending.get_by_role("row").filter(has_text=supervisor)
    expect(row).to_contain_text("Supervisor")
    expect(row).to_contain_text("Sent")
    shot(page, "organization-with-a-pending-invitation")
    row.get_by_role("link", name=supervisor).click()
    expect(invitation_row(page, supervisor)).to_be_visible()


def test_archive_restore_and_delete_an_organization(page: Page, create_staff, login, shot):
    staff = create_staff()
    login(page, staff.email, staff.password)
    employer = f"Old Mill {unique_email('x')[:8]}"
    create_employer(page, employer, shot)
    employers = page.get_by_role("table", name="Employers")
    employers.get_by_role("link", name=employer).click()

    page.get_by_role("button", name="Archive", exact=True).click()
    confirm = page.get_by_role("dialog", name=f"Archive {employer}?")
    expect(confirm).to_contain_text("its users, invitations and history stay")
    shot(page, "confirm-archive")
    confirm.get_by_role("button", name="Archive").click()
    expect(page.get_by_text(f"{employer} archived.")).to_be_visible()
    expect(page.get_by_role("heading", name="Archived", exact=True)).to_be_visible()
    shot(page, "archived")

    nav(page).get_by_role("button", name="Partners").click()
    page.get_by_role("menuitem", name="Employers").click()
    expect(employers.get_by_role("link", name=employer)).to_have_count(0)
    page.get_by_label("Show archived").check()
    row = employers.get_by_role("row").filter(has_text=employer)
    expect(row).to_contain_text("Archived")
    shot(page, "employers-with-archived")
    row.get_by_role("link", name=employer).click()

    confirm_on_organization(page, "Restore", employer)
    expect(page.get_by_role("button", name="Archive", exact=True)).to_be_visible()

    confirm_on_organization(page, "Delete", employer)
    expect(page.get_by_role("heading", name="Employers", exact=True)).to_be_visible()
    expect(employers.get_by_role("link", name=employer)).to_have_count(0)
    shot(page, "deleted")
