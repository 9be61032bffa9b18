"""MANAGE → Invitations as a pipeline: bulk Resend across pages with "select all N matching",
bulk Revoke that kills the links, and the history that stays listed under its status."""

import secrets

from helpers import create_employer, create_managed_users, nav, pick_organization, unique_email
from playwright.sync_api import Page, expect


def invite_many(page: Page, organization: str, emails: list[str], shot) -> None:
    """INVITE → Invite External Users → the organization → a row per address → SEND."""
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    pick_organization(page, organization)
    page.get_by_role("button", name="Continue").click()
    rows = page.get_by_role("table", name="People to invite")
    for email in emails:
        page.get_by_label("User type").select_option(label="Supervisor")
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Add+").click()
        expect(rows.get_by_role("row").filter(has_text=email)).to_be_visible()
    shot(page, "people-to-invite")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text(f"{len(emails)} invitations sent.")).to_be_visible()


def open_invitations(page: Page) -> None:
    nav(page).get_by_role("link", name="Manage").click()
    page.get_by_role("tablist", name="Manage").get_by_role("tab", name="Invitations").click()
    expect(page.get_by_role("table", name="Pending invitations")).to_be_visible()


def test_resend_thirty_across_two_pages_then_revoke_many(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff(first_name="Jordan", last_name="Reyes")
    login(page, staff.email, staff.password)
    organization = f"Harbor Works {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    emails = [unique_email(f"crew{i:02d}") for i in range(30)]
    invite_many(page, organization, emails, shot)
    mail.wait_for(lambda m: m.recipients[0] in emails, count=30, timeout=60)

    open_invitations(page)
    bulk = page.get_by_role("button", name="Bulk actions")
    expect(bulk).to_be_disabled()  # nothing selected yet
    pick_organization(page, organization, label="Organization")
    expect(page.get_by_text("1–25 of 30")).to_be_visible()
    shot(page, "filtered")

    # Tick the page, then take every match: 30 invitations over two pages.
    page.get_by_label("Select all invitations on this page").check()
    expect(page.get_by_text("25 selected")).to_be_visible()
    expect(bulk).to_be_enabled()
    page.get_by_role("button", name="Select all 30 matching").click()
    expect(page.get_by_text("All 30 matching selected")).to_be_visible()
    shot(page, "all-matching-selected")
    bulk.click()
    page.get_by_role("menuitem", name="Resend").click()
    dialog = page.get_by_role("dialog", name="Resend 30 selected invitations?")
    expect(dialog).to_contain_text("30 people will get a new email")
    shot(page, "resend-confirm")
    dialog.get_by_role("button", name="Resend").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("30 invitations sent again")).to_be_visible()
    shot(page, "resent")
    received = mail.wait_for(lambda m: m.recipients[0] in emails, count=60, timeout=90)
    assert sorted(m.recipients[0] for m in received) == sorted(emails * 2)
    links = {email: mail.wait_for_mail_to(email).links()[0] for email in emails}
    # The redrawn table has nothing selected.
    expect(bulk).to_be_disabled()

    # Revoke the first page: those links die, the rest stay pending.
    page.get_by_label("Select all invitations on this page").check()
    bulk.click()
    page.get_by_role("menuitem", name="Revoke").click()
    dialog = page.get_by_role("dialog", name="Revoke 25 selected invitations?")
    shot(page, "revoke-confirm")
    dialog.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("25 invitations revoked")).to_be_visible()
    expect(page.get_by_text("1–5 of 5")).to_be_visible()
    shot(page, "revoked")
    pending = page.get_by_role("table", name="Pending invitations")
    still_pending = [e for e in emails if pending.get_by_text(e, exact=True).count()]
    revoked = [e for e in emails if e not in still_pending]
    assert len(still_pending) == 5 and len(revoked) == 25

    someone = new_context().new_page()
    for email in revoked[:3]:
        someone.goto(links[email])
        expect(someone.get_by_role("heading", name="This invitation was revoked")).to_be_visible()
    shot(someone, "link-revoked")
    someone.goto(links[still_pending[0]])
    expect(someone.get_by_role("heading", name="Create your Scope account")).to_be_visible()

    # History, not disappearance: the revoked ones are listed under their status.
    page.get_by_label("Status").select_option(label="Revoked")
    history = page.get_by_role("table", name="Revoked invitations")
    expect(history.get_by_role("row").filter(has_text="by Jordan Reyes")).to_have_count(25)
    shot(page, "revoked-history")
    page.reload()
    expect(page.get_by_label("Status")).to_have_value("revoked")
    expect(page.get_by_role("table", name="Revoked invitations")).to_be_visible()


def test_users_bulk_deactivate_reactivate_and_delete(page: Page, create_staff, login, shot):
    staff = create_staff(first_name="Casey", last_name="Lund")
    login(page, staff.email, staff.password)
    organization = f"Quarry Tools {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    people = [
        ("Supervisor", "Ana", "Rivera", unique_email("ana")),
        ("Supervisor", "Ben", "Okafor", unique_email("ben")),
        ("Administrator", "Cleo", "Marsh", unique_email("cleo")),
    ]
    create_managed_users(page, organization, people, shot)

    nav(page).get_by_role("link", name="Manage").click()
    pick_organization(page, organization, label="Organization")
    table = page.get_by_role("table", name="Users")
    # The filtered table has arrived (the staff member, of no organization, has left it): a
    # selection made in the table before it would go with the table it was made in.
    expect(table.get_by_role("link", name="Casey Lund")).to_have_count(0)
    for _, first, last, _ in people:
        expect(table.get_by_role("link", name=f"{first} {last}")).to_be_visible()
    bulk = page.get_by_role("button", name="Bulk actions")
    expect(bulk).to_be_disabled()

    def bulk_action(action: str, title: str, done: str) -> None:
        bulk.click()
        page.get_by_role("menuitem", name=action).click()
        dialog = page.get_by_role("dialog", name=title)
        shot(page, f"confirm-{action}")
        dialog.get_by_role("button", name=action).click()
        expect(dialog).to_have_count(0)
        expect(page.get_by_text(done)).to_be_visible()

    page.get_by_label("Select all users on this page").check()
    bulk_action("Deactivate", "Deactivate 3 selected users?", "3 users deactivated")
    expect(table.get_by_text("Deactivated", exact=True)).to_have_count(3)
    expect(bulk).to_be_disabled()

    page.get_by_label("Select all users on this page").check()
    bulk_action("Reactivate", "Reactivate 3 selected users?", "3 users reactivated")
    expect(table.get_by_text("Managed", exact=True)).to_have_count(3)

    page.get_by_label("Select Ana Rivera").check()
    page.get_by_label("Select Ben Okafor").check()
    expect(page.get_by_text("2 selected")).to_be_visible()
    bulk_action("Delete", "Delete 2 selected users?", "2 users deleted")
    expect(table.get_by_role("link", name="Ana Rivera")).to_have_count(0)
    expect(table.get_by_role("link", name="Cleo Marsh")).to_be_visible()
    shot(page, "after-delete")
