"""Keyboard only: Tab, Shift+Tab, Enter, Space, the arrows and Escape, never the mouse.

The CREATE+ dialog traps focus and gives it back to its opener; menus follow the WAI-ARIA
menu-button pattern; the external-user invitation and the managed-user wizard are done from
start to finish; a row's Actions menu opens dialogs and asks before anything is destroyed.
"""

import re
import secrets

from helpers import OCCUPATION, nav, unique_email
from playwright.sync_api import Locator, Page, expect


def is_focused(locator: Locator) -> bool:
    return locator.evaluate("element => element === document.activeElement")


def tab_to(page: Page, locator: Locator, *, back: bool = False, limit: int = 80) -> None:
    """Press Tab (Shift+Tab with back=True) until `locator` has the focus."""
    locator.wait_for(state="visible")
    for _ in range(limit):
        if is_focused(locator):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{locator} never got the focus in {limit} presses")


def focus_stays_in_dialog(page: Page) -> bool:
    """Inside a modal dialog, or (between the dialog's last and first control) nowhere."""
    return page.evaluate(
        """() => {
            const dialog = document.querySelector("dialog[open]");
            const active = document.activeElement;
            return !!dialog && (active === document.body || dialog.contains(active));
        }"""
    )


def live_region(page: Page) -> Locator:
    return page.locator("#alerts[aria-live='polite']")


def keyboard_login(page: Page, staff) -> None:
    page.goto("/login")
    email = page.get_by_label("Email")
    tab_to(page, email)
    page.keyboard.type(staff.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(staff.password)
    page.keyboard.press("Enter")
    expect(nav(page)).to_be_visible()


def open_partners_item(page: Page, item: str) -> None:
    partners = nav(page).get_by_role("button", name="Partners")
    tab_to(page, partners)
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Employers")).to_be_focused()
    target = page.get_by_role("menuitem", name=item)
    for _ in range(3):
        if is_focused(target):
            break
        page.keyboard.press("ArrowDown")
    expect(target).to_be_focused()
    page.keyboard.press("Enter")


def create_employer_by_keyboard(page: Page, name: str) -> None:
    open_partners_item(page, "Employers")
    expect(page).to_have_url(re.compile(r"/partners/employers"))
    create = page.get_by_role("link", name="Create+")
    tab_to(page, create)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New Employer")
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(
        page.get_by_role("table", name="Employers").get_by_role("link", name=name)
    ).to_be_visible()
    expect(create).to_be_focused()


def go_to(page: Page, link: Locator) -> None:
    tab_to(page, link)
    page.keyboard.press("Enter")


def open_tab(page: Page, tablist: str, name: str) -> None:
    """Tabs pattern: Tab reaches the selected tab only; arrows move to the others."""
    tabs = page.get_by_role("tablist", name=tablist)
    tab_to(page, tabs.get_by_role("tab", selected=True))
    page.keyboard.press("ArrowRight")
    target = tabs.get_by_role("tab", name=name)
    expect(target).to_be_focused()
    page.keyboard.press("Enter")
    expect(target).to_have_attribute("aria-selected", "true")


def choose(page: Page, select: Locator, label: str) -> None:
    """Pick an option of a focused <select> by typing its first letters."""
    expect(select).to_be_focused()
    page.keyboard.type(label)
    expect(select.locator("option:checked")).to_have_text(label)


def pick(page: Page, label: str, name: str, typed: str | None = None) -> Locator:
    """Pick an organization in a focused combobox: type (part of) its name, ArrowDown to the
    first option, Enter. Returns the combobox."""
    box = page.get_by_role("combobox", name=label)
    expect(box).to_be_focused()
    page.keyboard.type(typed or name)
    options = page.get_by_role("listbox", name=label).get_by_role("option")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    expect(page.locator(f"#{active}")).to_have_attribute("data-label", name)
    page.keyboard.press("Enter")
    expect(box).to_have_value(name)
    expect(box).to_have_attribute("aria-expanded", "false")
    return box


def test_menus_and_the_create_dialog_by_keyboard(page: Page, staff, shot):
    keyboard_login(page, staff)
    partners = nav(page).get_by_role("button", name="Partners")
    tab_to(page, partners)

    # Menu button: Enter and Space open on the first item, ArrowUp on the last.
    page.keyboard.press("Enter")
    expect(partners).to_have_attribute("aria-expanded", "true")
    employers = page.get_by_role("menuitem", name="Employers")
    providers = page.get_by_role("menuitem", name="Providers")
    occupations = page.get_by_role("menuitem", name="Occupations")
    expect(employers).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(providers).to_be_focused()
    page.keyboard.press("End")
    expect(occupations).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(employers).to_be_focused()  # wraps
    page.keyboard.press("ArrowUp")
    expect(occupations).to_be_focused()
    page.keyboard.press("Home")
    expect(employers).to_be_focused()
    shot(page, "partners-menu")
    page.keyboard.press("Escape")
    expect(partners).to_have_attribute("aria-expanded", "false")
    expect(employers).to_be_hidden()
    expect(partners).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(occupations).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("Space")
    expect(employers).to_be_focused()
    page.keyboard.press("Tab")  # leaving a menu closes it
    expect(partners).to_have_attribute("aria-expanded", "false")

    # Staff reach My account from the account menu.
    account = nav(page).get_by_role("button", name=re.compile(r"^Account:"))
    tab_to(page, account)
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="My account")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Sponsor settings")).to_be_focused()
    page.keyboard.press("End")
    expect(page.get_by_role("menuitem", name="Log out")).to_be_focused()
    shot(page, "account-menu")
    page.keyboard.press("Escape")
    expect(account).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="My account")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    shot(page, "my-account")

    open_partners_item(page, "Employers")
    expect(page).to_have_url(re.compile(r"/partners/employers"))
    create = page.get_by_role("link", name="Create+")
    tab_to(page, create)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New Employer")
    name = dialog.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    # The modal dialog keeps focus inside, both ways round.
    for key in ("Shift+Tab",) * 3 + ("Tab",) * 30:
        page.keyboard.press(key)
        assert focus_stays_in_dialog(page), f"focus left the dialog after {key}"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(create).to_be_focused()

    # SAVE with nothing in Name: focus goes to the field in error.
    page.keyboard.press("Enter")
    expect(name).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_text("Please correct the fields marked below.")).to_be_visible()
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    shot(page, "dialog-error")
    organization = f"Keyboard Works {secrets.token_hex(2)}"
    page.keyboard.type(organization)
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    table = page.get_by_role("table", name="Employers")
    expect(table.get_by_role("link", name=organization)).to_be_visible()
    expect(create).to_be_focused()
    expect(page.get_by_role("navigation", name="Pages")).not_to_contain_text("No results")
    shot(page, "created")


def test_external_invitation_and_its_row_menu_by_keyboard(page: Page, staff, mail, shot):
    keyboard_login(page, staff)
    organization = f"Tab Key Electric {secrets.token_hex(2)}"
    create_employer_by_keyboard(page, organization)
    mentor, supervisor = unique_email("kb-mentor"), unique_email("kb-supervisor")

    go_to(page, nav(page).get_by_role("link", name="Invite"))
    go_to(page, page.get_by_role("link", name="Invite External Users"))
    pick(page, "Employer", organization)
    go_to(page, page.get_by_role("button", name="Continue"))

    wizard = page.get_by_role("region", name="Invite External Users")
    expect(wizard).to_contain_text(f"Organization: {organization}")
    email = page.get_by_label("Email")
    user_type = page.get_by_label("User type")
    occupation = page.get_by_label("Occupation")
    expect(user_type).to_be_focused()  # the row form's first field
    choose(page, user_type, "Mentor")
    expect(occupation).to_be_visible()
    page.keyboard.press("Tab")
    expect(email).to_be_focused()
    page.keyboard.type(mentor)
    page.keyboard.press("Enter")
    # Refused on the row: focus goes to the field in error, not back to Email.
    expect(page.get_by_text("Choose the mentor's occupation.")).to_be_visible()
    expect(occupation).to_be_focused()
    shot(page, "row-error")
    choose(page, occupation, OCCUPATION)
    go_to(page, page.get_by_role("button", name="Add+"))
    rows = page.get_by_role("table", name="People to invite").get_by_role("row")
    expect(rows.filter(has_text=mentor)).to_contain_text(OCCUPATION)
    expect(user_type).to_be_focused()
    expect(user_type).to_have_value("mentor")  # kept for the next person

    choose(page, user_type, "Supervisor")
    expect(occupation).to_be_hidden()
    page.keyboard.press("Tab")
    page.keyboard.type(supervisor)
    page.keyboard.press("Enter")
    expect(rows.filter(has_text=supervisor)).to_be_visible()

    send = page.get_by_role("button", name="Send Invitations")
    tab_to(page, send)
    page.keyboard.press("Space")
    expect(live_region(page)).to_contain_text("2 invitations sent.")
    expect(page.get_by_label("User type")).to_be_focused()  # the row form's first field
    mail.wait_for_mail_to(mentor)
    shot(page, "sent")

    # MANAGE → Invitations, the mentor's row: Actions is a menu button.
    go_to(page, nav(page).get_by_role("link", name="Manage"))
    open_tab(page, "Manage", "Invitations")
    row = (
        page.get_by_role("table", name="Pending invitations")
        .get_by_role("row")
        .filter(has_text=mentor)
    )
    actions = row.get_by_role("button", name="Actions")
    tab_to(page, actions)
    page.keyboard.press("Enter")
    expect(row.get_by_role("menuitem", name="Revoke")).to_be_focused()
    page.keyboard.press("End")
    expect(row.get_by_role("menuitem", name="Copy Invitation Link")).to_be_focused()
    shot(page, "row-menu")
    page.keyboard.press("Enter")
    link_dialog = page.get_by_role("dialog", name=re.compile("Invitation link for"))
    expect(link_dialog.get_by_label("Invitation link")).to_have_value(re.compile(r"^http"))
    page.keyboard.press("Escape")
    expect(link_dialog).to_have_count(0)
    expect(actions).to_be_focused()

    # Revoke asks first; Escape keeps the invitation, Enter on Revoke ends it.
    page.keyboard.press("Enter")
    expect(row.get_by_role("menuitem", name="Revoke")).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Revoke invitation?")
    expect(confirm.get_by_role("button", name="Revoke")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(actions).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(confirm.get_by_role("button", name="Revoke")).to_be_focused()
    shot(page, "revoke-confirm")
    page.keyboard.press("Enter")
    expect(row).to_have_count(0)
    expect(live_region(page)).to_contain_text("revoked")
    # Focus goes to the remaining row's Actions, not back to the top of the page.
    expect(page.locator(":focus")).to_have_attribute("aria-label", "Actions")


def open_managed_wizard(page: Page, staff, organization: str) -> None:
    """Log in, create an employer, and reach INVITE → Managed's rows for it, by keyboard."""
    keyboard_login(page, staff)
    create_employer_by_keyboard(page, organization)
    go_to(page, nav(page).get_by_role("link", name="Invite"))
    open_tab(page, "Kind of account", "Managed")
    go_to(page, page.get_by_role("link", name="Get Started"))
    pick(page, "Employer", organization)
    go_to(page, page.get_by_role("button", name="Continue"))
    expect(page.get_by_role("region", name="Add Managed Users")).to_contain_text(organization)


def test_managed_wizard_and_a_users_row_menu_by_keyboard(page: Page, staff, shot):
    open_managed_wizard(page, staff, f"Arrow Key Works {secrets.token_hex(2)}")
    last = f"Keyes{secrets.token_hex(2)}"
    create = page.get_by_role("button", name="Create Users +")
    expect(create).to_be_disabled()

    user_type = page.get_by_label("User type")
    for kind, first, email in (
        ("Supervisor", "Sam", unique_email("kb-managed")),
        ("Administrator", "Ada", ""),
    ):
        tab_to(page, user_type, back=True)
        choose(page, user_type, kind)
        page.keyboard.press("Tab")
        expect(page.get_by_label("First name")).to_be_focused()
        page.keyboard.type(first)
        page.keyboard.press("Tab")
        page.keyboard.type(last)
        page.keyboard.press("Tab")
        expect(page.get_by_label("Email")).to_be_focused()
        if email:
            page.keyboard.type(email)
        page.keyboard.press("Enter")
        people = page.get_by_role("table", name="People to create")
        expect(people.get_by_role("row").filter(has_text=first)).to_be_visible()
    shot(page, "managed-rows")
    tab_to(page, create)
    page.keyboard.press("Enter")
    expect(live_region(page)).to_contain_text("2 managed users created.")
    shot(page, "managed-created")

    # MANAGE → Users: Sam's Actions menu; Deactivate asks in a dialog.
    go_to(page, nav(page).get_by_role("link", name="Manage"))
    row = page.get_by_role("table", name="Users").get_by_role("row").filter(has_text=f"Sam {last}")
    actions = row.get_by_role("button", name="Actions")
    tab_to(page, actions)
    page.keyboard.press("Enter")
    expect(row.get_by_role("menuitem", name="View profile")).to_be_focused()
    deactivate = row.get_by_role("menuitem", name="Deactivate")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(deactivate).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name=f"Deactivate Sam {last}?")
    expect(confirm.get_by_role("button", name="Deactivate")).to_be_focused()
    shot(page, "deactivate-confirm")
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(actions).to_be_focused()
    expect(row).to_contain_text("Managed")

    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(confirm.get_by_role("button", name="Deactivate")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row).to_contain_text("Deactivated")
    expect(row.get_by_role("button", name="Actions")).to_be_focused()
    expect(live_region(page)).not_to_be_empty()

    # Delete (managed only) is the last item and asks too.
    ada = page.get_by_role("table", name="Users").get_by_role("row").filter(has_text=f"Ada {last}")
    ada_actions = ada.get_by_role("button", name="Actions")
    tab_to(page, ada_actions)
    page.keyboard.press("ArrowUp")
    expect(ada.get_by_role("menuitem", name="Delete")).to_be_focused()
    page.keyboard.press("Enter")
    delete = page.get_by_role("dialog", name=f"Delete Ada {last}?")
    expect(delete.get_by_role("button", name="Delete")).to_be_focused()
    shot(page, "delete-confirm")
    page.keyboard.press("Escape")
    expect(delete).to_have_count(0)
    expect(ada_actions).to_be_focused()


def test_a_field_entered_right_after_a_swap_keeps_the_focus(page: Page, staff, shot):
    """After ADD+ focus moves to the new form's first field, but not once the person has gone
    into another field of it: that move comes after htmx's settle delay, and would send what
    they type to the wrong field, even when another part of the page swapped meanwhile."""
    open_managed_wizard(page, staff, f"Quick Typist {secrets.token_hex(2)}")
    people = page.get_by_role("table", name="People to create")

    # An ordinary ADD+: the new form's first field has the focus, its type kept.
    page.get_by_label("User type").select_option(label="Supervisor")
    page.get_by_label("First name").fill("Quinn")
    page.get_by_label("Last name").fill("Early")
    page.get_by_role("button", name="Add+").click()
    expect(people.get_by_role("row").filter(has_text="Early")).to_be_visible()
    expect(page.get_by_label("User type")).to_be_focused()
    expect(page.get_by_label("User type")).to_have_value("supervisor")

    # The person is in First name the moment the new form is in the page.
    page.get_by_label("User type").select_option(label="Administrator")
    page.get_by_label("First name").fill("Rita")
    page.get_by_label("Last name").fill("Swift")
    # Then, before the new form's load, the Notifications count's poll swaps its badge: a
    # swap elsewhere in the page must not make the person's own move look like the swap's.
    page.evaluate(
        """() => document.addEventListener("htmx:afterSwap", function entered(event) {
             if (event.target.id !== "invite-wizard") { return; }
             document.removeEventListener("htmx:afterSwap", entered);
             document.querySelector("#row-form [name='first_name']").focus();
             const count = document.getElementById("notice-count");
             htmx.swap(count, count.outerHTML, {swapStyle: "outerHTML"});
           })"""
    )
    page.get_by_role("button", name="Add+").click()
    expect(people.get_by_role("row").filter(has_text="Swift")).to_be_visible()
    # The new wizard has settled: its load (when focus used to move) has run.
    expect(page.locator("#invite-wizard")).not_to_have_class(re.compile(r"\bhtmx-settling\b"))
    expect(page.get_by_label("First name")).to_be_focused()
    page.keyboard.type("Tess")
    expect(page.get_by_label("First name")).to_have_value("Tess")
    shot(page, "focus-kept")
